import { randomInt } from 'node:crypto';
import { Username } from './users.schemas.ts';

/** How many alternatives a username 409 offers. */
export const MAX_SUGGESTIONS = 3;

/** Suffixes a person would try first, in order; random numbers follow them. */
const SUFFIXES = ['2', '_1', '-dev', '3', '.me'];
const RANDOM_SUFFIXES = 3;

/**
 * Usernames derived from a taken canonical one, each canonical, valid and not reserved, most
 * natural first. Which of them are free is for the database to say.
 */
export function usernameCandidates(taken: string): string[] {
  const suffixes = [...SUFFIXES];
  for (let i = 0; i < RANDOM_SUFFIXES; i++) suffixes.push(String(randomInt(10, 1000)));
  const candidates = new Set<string>();
  for (const suffix of suffixes) {
    // A name at the length limit gives up its tail to the suffix; the cut must still end alphanumeric.
    const base = taken.slice(0, 30 - suffix.length).replace(/[._-]+$/, '');
    const parsed = Username.safeParse(base + suffix);
    if (parsed.success && parsed.data === base + suffix && parsed.data !== taken) candidates.add(parsed.data);
  }
  return [...candidates];
}
