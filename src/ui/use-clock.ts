/** The time, re-read every `periodMs` while `active` (aligned to the period, so a minute clock ticks on the minute). */
import { useEffect, useState } from 'react';

export function useClock(periodMs: number, active = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    let timer: NodeJS.Timeout;
    const arm = () => {
      timer = setTimeout(() => {
        setNow(Date.now());
        arm();
      }, periodMs - (Date.now() % periodMs) + 5);
    };
    arm();
    return () => clearTimeout(timer);
  }, [periodMs, active]);
  return active ? now : now;
}
