#!/usr/bin/env node
// Generates proto/gen/tsswarm.ts from proto/*.proto: a TypeScript interface and a codec per
// message, an `as const` object and a union type per enum, and a gRPC service definition plus a
// server handler type per service, with the schema embedded as a protobufjs JSON descriptor.
//
// Usage: node deploy/proto-gen.mjs [--out DIR] [--check]
//   --out DIR   write into DIR instead of proto/gen (the tests regenerate into a temp dir)
//   --check     write nothing; exit 1 if proto/gen (or DIR) is not up to date
//
// The output depends only on the .proto files: files are read in sorted order, declarations are
// emitted in source order, and nothing (time, paths, versions) varies between runs.
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const protoDir = join(repoRoot, 'proto');
const packageName = 'tsswarm';
const outputName = `${packageName}.ts`;

/** Command-line options. */
function parseArgs(argv) {
  const options = { outDir: join(protoDir, 'gen'), check: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--out' && i + 1 < argv.length) options.outDir = resolve(argv[++i]);
    else if (arg === '--check') options.check = true;
    else throw new Error(`proto-gen: unknown argument ${arg}; usage: proto-gen.mjs [--out DIR] [--check]`);
  }
  return options;
}

/** Fails generation with a message that names the offending declaration. */
function fail(message) {
  throw new Error(`proto-gen: ${message}`);
}

/** The .proto files, sorted, with their text. */
function readProtoFiles() {
  return readdirSync(protoDir)
    .filter((name) => name.endsWith('.proto'))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(protoDir, name), 'utf8') }));
}

/** Parses every file into one protobufjs root, keeping comments. */
function parseAll(files) {
  const root = new protobuf.Root();
  for (const file of files) {
    const parsed = protobuf.parse(file.text, root, { keepCase: false, alternateCommentMode: true });
    if (parsed.package !== packageName) fail(`${file.name}: package must be ${packageName}, is ${parsed.package}`);
    if (parsed.syntax !== 'proto3' && parsed.syntax !== undefined) fail(`${file.name}: syntax must be proto3`);
    file.imports = parsed.imports ?? [];
    for (const imported of file.imports) {
      if (!files.some((f) => f.name === imported)) fail(`${file.name}: imports ${imported}, which is not in proto/`);
    }
  }
  root.resolveAll();
  return root;
}

/** The leading // comment block of a .proto file, as lines of text. */
function fileHeader(text) {
  const lines = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('//')) break;
    lines.push(line.replace(/^\/\/ ?/, ''));
  }
  return lines;
}

/** A TSDoc block for `comment` at the given indentation; `fallback` when there is none. */
function doc(comment, fallback, indent = '') {
  const text = (comment ?? '').trim() || fallback;
  const lines = text.replace(/\*\//g, '*\\/').split('\n').map((l) => l.trimEnd());
  if (lines.length === 1) return `${indent}/** ${lines[0]} */`;
  return [`${indent}/**`, ...lines.map((l) => (l ? `${indent} * ${l}` : `${indent} *`)), `${indent} */`].join('\n');
}

/** UPPER_SNAKE_CASE of a PascalCase name: "TaskState" -> "TASK_STATE", "IPAMFamily" -> "IPAM_FAMILY". */
function upperSnake(name) {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toUpperCase();
}

/** lowerCamelCase of a PascalCase rpc name. */
function lowerCamel(name) {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

const scalarTypes = {
  double: 'number',
  float: 'number',
  int32: 'number',
  uint32: 'number',
  sint32: 'number',
  fixed32: 'number',
  sfixed32: 'number',
  int64: 'number',
  uint64: 'number',
  sint64: 'number',
  fixed64: 'number',
  sfixed64: 'number',
  bool: 'boolean',
  string: 'string',
  bytes: 'Uint8Array',
};

/** The TypeScript type of one value of `field` (an element, for repeated fields and maps). */
function valueType(field, where) {
  if (field.resolvedType) {
    if (field.resolvedType.parent?.fullName !== `.${packageName}`) fail(`${where}: ${field.type} must be declared at top level`);
    return field.resolvedType.name;
  }
  const ts = scalarTypes[field.type];
  if (ts === undefined) fail(`${where}: unknown type ${field.type}`);
  return ts;
}

/** The interface property for `field`. */
function property(type, field) {
  const where = `${type.name}.${field.name}`;
  const value = valueType(field, where);
  let ts;
  let optional = false;
  if (field.map) {
    if (field.keyType !== 'string') fail(`${where}: map keys must be strings (JavaScript object keys are)`);
    ts = `Record<string, ${value}>`;
  } else if (field.repeated) {
    ts = `${value}[]`;
  } else {
    ts = value;
    optional = field.partOf !== null || field.resolvedType instanceof protobuf.Type;
  }
  const comment = field.comment ? `${doc(field.comment, '', '  ')}\n` : '';
  return `${comment}  ${field.name}${optional ? '?' : ''}: ${ts};`;
}

/** Emits one message: interface and codec. */
function emitMessage(type, out) {
  if (type.nestedArray.length > 0) fail(`${type.name}: nested declarations are not supported; declare them at top level`);
  const notes = [];
  for (const oneof of type.oneofsArray) {
    notes.push(`At most one of ${oneof.fieldsArray.map((f) => f.name).join(', ')} is set (oneof ${oneof.name}).`);
  }
  const comment = [type.comment ?? `The ${type.name} message.`, ...notes].join('\n');
  out.push(doc(comment, ''));
  if (type.fieldsArray.length === 0) {
    out.push(`export interface ${type.name} {}`);
  } else {
    out.push(`export interface ${type.name} {`);
    for (const field of type.fieldsArray) out.push(property(type, field));
    out.push('}');
  }
  out.push(`/** Encodes, decodes and creates {@link ${type.name}} messages (${packageName}.${type.name}). */`);
  out.push(`export const ${type.name}: $MessageCodec<${type.name}> = $messageCodec(schema, '${packageName}.${type.name}');`);
  out.push('');
}

/** Emits one enum: an `as const` object of values, with the UPPER_SNAKE enum-name prefix stripped, and a union type. */
function emitEnum(en, out) {
  const prefix = `${upperSnake(en.name)}_`;
  out.push(doc(en.comment, `The ${en.name} enum.`));
  out.push(`export const ${en.name} = {`);
  for (const [key, value] of Object.entries(en.values)) {
    if (!key.startsWith(prefix)) fail(`${en.name}.${key}: enum values must start with ${prefix}`);
    const short = key.slice(prefix.length);
    if (!/^[A-Z][A-Z0-9_]*$/.test(short)) fail(`${en.name}.${key}: ${short} is not a valid value name`);
    const comment = en.comments[key];
    if (comment) out.push(doc(comment, '', '  '));
    out.push(`  ${short}: ${value},`);
  }
  out.push('} as const;');
  out.push(doc(en.comment, `The ${en.name} enum.`));
  out.push(`export type ${en.name} = (typeof ${en.name})[keyof typeof ${en.name}];`);
  out.push('');
}

/** The grpc-js handler type of a method. */
function handlerType(method) {
  const types = `<${method.resolvedRequestType.name}, ${method.resolvedResponseType.name}>`;
  if (method.requestStream && method.responseStream) return `$handleBidiStreamingCall${types}`;
  if (method.requestStream) return `$handleClientStreamingCall${types}`;
  if (method.responseStream) return `$handleServerStreamingCall${types}`;
  return `$handleUnaryCall${types}`;
}

/** Emits one service: its gRPC definition and the type of a server implementation. */
function emitService(service, out) {
  for (const method of service.methodsArray) {
    for (const t of [method.resolvedRequestType, method.resolvedResponseType]) {
      if (t.parent?.fullName !== `.${packageName}`) fail(`${service.name}.${method.name}: ${t.name} must be declared in package ${packageName}`);
    }
  }
  const comment = service.comment ?? `The ${service.name} service.`;
  out.push(doc(`${comment}\nThe gRPC definition: pass it to Server.addService or makeGenericClientConstructor.`, ''));
  out.push(`export const ${service.name}Service = {`);
  for (const method of service.methodsArray) {
    if (method.comment) out.push(doc(method.comment, '', '  '));
    const args = [
      `'${packageName}.${service.name}'`,
      `'${method.name}'`,
      method.resolvedRequestType.name,
      method.resolvedResponseType.name,
      String(Boolean(method.requestStream)),
      String(Boolean(method.responseStream)),
    ];
    out.push(`  ${lowerCamel(method.name)}: $grpcMethod(${args.join(', ')}),`);
  }
  out.push('};');
  out.push(`/** A server implementation of the ${service.name} service: one grpc-js handler per rpc. */`);
  out.push(`export type ${service.name}Server = {`);
  for (const method of service.methodsArray) out.push(`  ${lowerCamel(method.name)}: ${handlerType(method)};`);
  out.push('};');
  out.push('');
}

/** Declarations of the package in source order, grouped by file. */
function declarationsByFile(root, files) {
  const ns = root.lookup(packageName);
  if (!(ns instanceof protobuf.Namespace)) fail(`no package ${packageName}`);
  // protobufjs records no file name for parsed sources, so match each declaration to the file
  // that declares it by name; declaration order within a file is the order in nestedArray.
  const owner = new Map();
  for (const file of files) {
    const declared = /^\s*(?:message|enum|service)\s+([A-Za-z_][A-Za-z0-9_]*)/gm;
    for (const match of file.text.matchAll(declared)) {
      const name = match[1];
      if (owner.has(name)) fail(`${name} is declared in both ${owner.get(name)} and ${file.name}`);
      owner.set(name, file.name);
    }
  }
  const groups = files.map((file) => ({
    file,
    declarations: ns.nestedArray.filter((item) => owner.get(item.name) === file.name),
  }));
  // protoc resolves a type only through the file's own imports; hold the files to the same rule
  // so that they stay usable by other protobuf tools.
  for (const { file, declarations } of groups) {
    const visible = new Set([file.name, ...file.imports]);
    const check = (user, used) => {
      if (!visible.has(owner.get(used.name))) fail(`${file.name}: ${user} uses ${used.name} from ${owner.get(used.name)}, which ${file.name} does not import`);
    };
    for (const item of declarations) {
      if (item instanceof protobuf.Type) {
        for (const field of item.fieldsArray) if (field.resolvedType) check(`${item.name}.${field.name}`, field.resolvedType);
      } else if (item instanceof protobuf.Service) {
        for (const method of item.methodsArray) {
          check(`${item.name}.${method.name}`, method.resolvedRequestType);
          check(`${item.name}.${method.name}`, method.resolvedResponseType);
        }
      }
    }
  }
  return groups;
}

/** The generated TypeScript source. */
function generate(files) {
  const root = parseAll(files);
  const groups = declarationsByFile(root, files);

  const exported = new Map();
  const claim = (name, what) => {
    if (exported.has(name)) fail(`${what} ${name} clashes with ${exported.get(name)}`);
    exported.set(name, what);
  };
  claim('schema', 'the schema root');
  // proto/index.ts re-exports these from proto/runtime.ts beside the generated names.
  for (const name of ['MessageCodec', 'DeepPartial', 'GrpcMethod', 'enumKey']) claim(name, 'proto/runtime.ts export');

  const descriptor = {};
  const body = [];
  const services = [];
  for (const { file, declarations } of groups) {
    body.push(`// ${'-'.repeat(4)} ${file.name} ${'-'.repeat(Math.max(4, 91 - file.name.length))}`);
    for (const line of fileHeader(file.text)) body.push(line ? `// ${line}` : '//');
    body.push('');
    for (const item of declarations) {
      descriptor[item.name] = item.toJSON({ keepComments: false });
      if (item instanceof protobuf.Type) {
        claim(item.name, 'message');
        emitMessage(item, body);
      } else if (item instanceof protobuf.Enum) {
        claim(item.name, 'enum');
        emitEnum(item, body);
      } else if (item instanceof protobuf.Service) {
        claim(`${item.name}Service`, 'service');
        claim(`${item.name}Server`, 'service');
        services.push(item);
      } else {
        fail(`${item.name}: unsupported declaration`);
      }
    }
  }
  // Services come last: their definitions refer to the message codecs, which must exist by then.
  if (services.length > 0) {
    body.push(`// ${'-'.repeat(4)} services ${'-'.repeat(87)}`);
    body.push('// The gRPC services of every file above, in file order.');
    body.push('');
    for (const service of services) emitService(service, body);
  }
  const emittedCount = groups.reduce((n, g) => n + g.declarations.length, 0);
  if (emittedCount !== root.lookup(packageName).nestedArray.length) fail('some declarations were not matched to a file');

  const head = [
    `// Code generated by deploy/proto-gen.mjs from proto/*.proto. DO NOT EDIT.`,
    `// Regenerate with: node deploy/proto-gen.mjs`,
    ``,
    `import type {`,
    `  handleBidiStreamingCall as $handleBidiStreamingCall,`,
    `  handleClientStreamingCall as $handleClientStreamingCall,`,
    `  handleServerStreamingCall as $handleServerStreamingCall,`,
    `  handleUnaryCall as $handleUnaryCall,`,
    `} from '@grpc/grpc-js';`,
    `import { grpcMethod as $grpcMethod, loadSchema as $loadSchema, messageCodec as $messageCodec, type MessageCodec as $MessageCodec } from '../runtime.js';`,
    ``,
    `/** The protobufjs reflection of package ${packageName}: every message, enum and service below. */`,
    `export const schema = $loadSchema({`,
    `  nested: {`,
    `    ${packageName}: {`,
    `      nested: {`,
    ...Object.entries(descriptor).map(([name, json]) => `        ${name}: ${JSON.stringify(json)},`),
    `      },`,
    `    },`,
    `  },`,
    `});`,
    ``,
  ];
  return [...head, ...body].join('\n').replace(/\n+$/, '\n');
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const source = generate(readProtoFiles());
  const target = join(options.outDir, outputName);
  if (options.check) {
    let current = '';
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      // A missing file is out of date.
    }
    if (current !== source) {
      process.stderr.write(`proto-gen: ${target} is out of date; run node deploy/proto-gen.mjs\n`);
      process.exit(1);
    }
    return;
  }
  mkdirSync(options.outDir, { recursive: true });
  writeFileSync(target, source);
  process.stdout.write(`proto-gen: wrote ${target}\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
