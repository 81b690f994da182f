/**
 * Reading a stack's compose files: each file is parsed (with lines), its values substituted from
 * the environment and the `.env` file, read into a {@link ComposeProject}; the files are merged in
 * order and the result checked as a whole. Pure: the caller hands in the texts, the variables and
 * a file reader (for env_file, secret and config files).
 */
import { assert } from '../../lib/assert.js';
import type { ComposeProject } from './compose-model.js';
import { checkProject } from './check-project.js';
import { decodeFile } from './decode-file.js';
import { parseDotEnv } from './dotenv.js';
import { interpolateTree, type Lookup } from './interpolate.js';
import { mergeProjects } from './merge.js';
import { parseYamlTree } from './yaml-tree.js';

/** A compose file: the name the user gave and its text. */
export interface ComposeSource {
  readonly file: string;
  readonly text: string;
}

/** What {@link loadProject} reads. */
export interface LoadInput {
  /** The `-c` files in order (later ones override). */
  readonly sources: readonly ComposeSource[];
  /** The folder of the first file. */
  readonly projectDir: string;
  /** The environment (it wins over `.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The `.env` file beside the first compose file, when there is one. */
  readonly dotEnv?: ComposeSource;
  /** Reads a file by absolute path. */
  readonly readFile: (path: string) => Uint8Array;
}

/** The checked project and the ignored keys seen. */
export interface LoadedProject {
  readonly project: ComposeProject;
  /** Ignored keys, sorted, each once. */
  readonly ignored: readonly string[];
}

/** The variables the files see: the environment over `.env`. */
export function lookupOf(env: Readonly<Record<string, string | undefined>>, dotEnv: ComposeSource | undefined): Lookup {
  const fromFile = dotEnv === undefined ? new Map<string, string | undefined>() : parseDotEnv(dotEnv.text, dotEnv.file);
  return (name) => (Object.hasOwn(env, name) ? env[name] : undefined) ?? fromFile.get(name);
}

/** Reads, merges and checks the files; throws the first problem (a ComposeError naming file and line). */
export function loadProject(input: LoadInput): LoadedProject {
  const lookup = lookupOf(input.env, input.dotEnv);
  const ignored = new Set<string>();
  const ctx = { projectDir: input.projectDir, readFile: input.readFile, lookup, ignored: (key: string) => void ignored.add(key) };
  let project: ComposeProject | undefined;
  const [first] = input.sources;
  for (const source of input.sources) {
    const tree = interpolateTree(parseYamlTree(source.text, source.file), lookup);
    const one = decodeFile(tree, ctx);
    project = project === undefined ? one : mergeProjects(project, one);
  }
  assert(project !== undefined && first !== undefined, 'loadProject needs at least one compose file');
  checkProject(project, first.file);
  return { project, ignored: [...ignored].sort() };
}
