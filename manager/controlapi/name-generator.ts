/**
 * Readable names for services created without one, as docker does (`adjective_surname`, e.g.
 * `focused_hopper`), drawn from an injected Rng so tests and simulators can replay them. A name
 * already taken gets a digit appended, as docker's generator does on a retry.
 */
import type { Rng } from '../../lib/rng.js';

/** How many names are tried before giving up on finding a free one. */
export const maxGeneratedNameAttempts = 32;

const adjectives = [
  'admiring', 'agitated', 'amazing', 'awesome', 'blissful', 'bold', 'brave', 'busy', 'charming', 'clever',
  'compassionate', 'competent', 'condescending', 'confident', 'cool', 'cranky', 'dazzling', 'determined',
  'distracted', 'dreamy', 'eager', 'ecstatic', 'elastic', 'elated', 'elegant', 'eloquent', 'epic', 'fervent',
  'festive', 'focused', 'friendly', 'frosty', 'gallant', 'gifted', 'goofy', 'gracious', 'happy', 'hardcore',
  'heuristic', 'hopeful', 'hungry', 'infallible', 'inspiring', 'jolly', 'jovial', 'keen', 'kind', 'laughing',
  'loving', 'lucid', 'magical', 'modest', 'musing', 'mystifying', 'nervous', 'nice', 'nifty', 'nostalgic',
  'objective', 'optimistic', 'peaceful', 'pedantic', 'pensive', 'practical', 'priceless', 'quirky', 'quizzical',
  'relaxed', 'reverent', 'romantic', 'sad', 'serene', 'sharp', 'silly', 'sleepy', 'stoic', 'strange', 'sweet',
  'tender', 'thirsty', 'trusting', 'upbeat', 'vibrant', 'vigilant', 'vigorous', 'wizardly', 'wonderful',
  'xenodochial', 'youthful', 'zealous', 'zen',
] as const;

const surnames = [
  'agnesi', 'albattani', 'allen', 'archimedes', 'ardinghelli', 'babbage', 'banach', 'bardeen', 'bartik', 'bell',
  'benz', 'bhabha', 'blackwell', 'bohr', 'booth', 'borg', 'bose', 'brahmagupta', 'brattain', 'brown', 'carson',
  'cerf', 'chandrasekhar', 'clarke', 'colden', 'cori', 'curie', 'darwin', 'davinci', 'dijkstra', 'dubinsky',
  'easley', 'einstein', 'elion', 'engelbart', 'euclid', 'euler', 'faraday', 'fermat', 'fermi', 'feynman',
  'franklin', 'galileo', 'gauss', 'goldberg', 'goldstine', 'goodall', 'hamilton', 'hawking', 'heisenberg',
  'hertz', 'hodgkin', 'hofstadter', 'hopper', 'hypatia', 'jackson', 'jennings', 'johnson', 'kalam', 'kapitsa',
  'kepler', 'khorana', 'knuth', 'kowalevski', 'lalande', 'lamarr', 'lamport', 'leakey', 'lovelace', 'lumiere',
  'mayer', 'mccarthy', 'mcclintock', 'meitner', 'mendel', 'mirzakhani', 'morse', 'napier', 'newton', 'nobel',
  'noether', 'pascal', 'pasteur', 'perlman', 'pike', 'poincare', 'ptolemy', 'raman', 'ritchie', 'rosalind',
  'saha', 'sammet', 'shannon', 'shockley', 'sinoussi', 'stonebraker', 'swanson', 'tesla', 'thompson', 'torvalds',
  'turing', 'varahamihira', 'visvesvaraya', 'volhard', 'wescoff', 'wiles', 'williams', 'wilson', 'wing', 'wozniak',
  'wright', 'yalow', 'yonath',
] as const;

/** One random `adjective_surname`; a retry > 0 appends a digit, as docker's generator does. */
export function randomName(rng: Rng, retry = 0): string {
  const name = `${rng.pick(adjectives)}_${rng.pick(surnames)}`;
  return retry > 0 ? `${name}${rng.int(10)}` : name;
}

/** A random name `taken` says is free, or undefined after `maxGeneratedNameAttempts` tries. */
export function freeRandomName(rng: Rng, taken: (name: string) => boolean): string | undefined {
  for (let retry = 0; retry < maxGeneratedNameAttempts; retry++) {
    const name = randomName(rng, retry);
    if (!taken(name)) return name;
  }
  return undefined;
}
