// A value that follows another once it has stopped changing for `ms`: typing in a
// search box asks the API once per pause, not once per key (each query costs budget).
import { useEffect, useState } from "react";

export function useDebounced<T>(value: T, ms = 250): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
