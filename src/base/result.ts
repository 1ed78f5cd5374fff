/**
 * Errors as values for the data path: a flood of bad packets must not become a flood of exceptions.
 * `Result<T, E>` is either `{ ok: true, value }` or `{ ok: false, error }`.
 */
export type Result<T, E> = Ok<T> | Err<E>;

export interface Ok<T> {
  readonly ok: true;
  readonly value: T;
}

export interface Err<E> {
  readonly ok: false;
  readonly error: E;
}

export function ok<T>(value: T): Ok<T> {
  return { ok: true, value };
}

export function err<E>(error: E): Err<E> {
  return { ok: false, error };
}
