import t from 'tap';
import { headerFor, parseOutput, parseTemplate, printValue, renderDocuments, renderTemplateRows } from '../../cli/format-template.js';

const node = {
  ID: 'abc123',
  Spec: { Role: 'manager', Labels: { zone: 'a', 'com.example.tier': 'front' } },
  Status: { State: 'ready', Addr: '10.0.0.1' },
  Platforms: ['linux', 'amd64'],
  Self: true,
  Version: { Index: 7 },
};

t.test('fields, dotted paths and literal text', async (t) => {
  t.equal(parseTemplate('{{.ID}}').render(node), 'abc123');
  t.equal(parseTemplate('{{.Spec.Role}} at {{.Status.Addr}}').render(node), 'manager at 10.0.0.1');
  t.equal(parseTemplate('{{ .Version.Index }}/{{.Self}}').render(node), '7/true', 'spaces inside actions, numbers and booleans');
  t.equal(parseTemplate('no actions').render(node), 'no actions');
  t.equal(parseTemplate('{{.spec.role}}').render(node), 'manager', 'case-insensitive fallback for camelCase objects');
  t.equal(parseTemplate('{{.Spec.Labels.missing}}').render(node), '<no value>', 'a missing map key, as Go');
  t.equal(parseTemplate('{{.Platforms}} {{.Spec.Labels}}').render(node), '[linux amd64] map[com.example.tier:front zone:a]', 'Go fmt of lists and maps');
  t.equal(parseTemplate('{{.ID}}\\t{{.Self}}\\n').render(node), 'abc123\ttrue\n', 'typed \\t and \\n, as docker');
  t.equal(parseTemplate('a {{- .ID -}} b').render(node), 'aabc123b', 'trim markers');
  t.equal(parseTemplate('{{/* a comment */}}x').render(node), 'x');
});

t.test('functions and pipes', async (t) => {
  t.equal(parseTemplate('{{json .}}').render({ A: 1, B: 'x' }), '{"A":1,"B":"x"}');
  t.equal(parseTemplate('{{json .Spec.Labels}}').render(node), '{"zone":"a","com.example.tier":"front"}');
  t.equal(parseTemplate('{{index .Spec.Labels "com.example.tier"}}').render(node), 'front', 'index reaches keys with dots');
  t.equal(parseTemplate('{{index .Spec.Labels "nope"}}').render(node), '', 'index of a missing key is empty');
  t.equal(parseTemplate('{{upper .Spec.Role}} {{.Status.State | title}} {{lower "ABC"}}').render(node), 'MANAGER Ready abc');
  t.equal(parseTemplate('{{join .Platforms "/"}} {{len .Platforms}} {{truncate .ID 3}}').render(node), 'linux/amd64 2 abc');
  t.equal(parseTemplate('{{.ID | upper | json}}').render(node), '"ABC123"', 'a pipe passes the value as the last argument');
  t.equal(parseTemplate('{{split "a,b" "," | json}}').render(node), '["a","b"]');
});

t.test('mistakes are INVALID_ARGUMENT with a message that says what is wrong', async (t) => {
  const cases: [string, RegExp][] = [
    ['{{.ID', /unclosed action/],
    ['{{}}', /empty action/],
    ['{{nope .ID}}', /function "nope" not defined/],
    ['{{range .Platforms}}{{.}}{{end}}', /\{\{range\}\} is not supported/],
    ['{{.ID .Self}}', /only a function takes arguments/],
    ['{{.ID | }}', /missing command after "\|"/],
    ['{{.ID | .Self}}', /only a function can follow/],
    ['{{ #x }}', /unexpected "#"/],
  ];
  for (const [text, message] of cases) {
    t.throws(() => parseTemplate(text).render(node), { code: 'EINVAL', message }, text);
  }
  t.throws(() => parseTemplate('{{.Spec.Rol}}').render(node), { code: 'EINVAL', message: /no field "Rol" in \.Spec \(fields: Role, Labels\)/ }, 'a misspelt field names the fields there');
  t.throws(() => parseTemplate('{{.ID.Name}}').render(node), { code: 'EINVAL', message: /\.ID\.Name: a string has no field Name/ });
  t.throws(() => parseTemplate('{{json .ID .Self}}').render(node), { code: 'EINVAL', message: /json takes 1 argument, got 2/ });
  t.throws(() => parseTemplate('x'.repeat(5000)), { code: 'EINVAL', message: /longer than/ });
});

t.test('table templates: headers from field names, aligned columns', async (t) => {
  t.equal(headerFor('ManagerStatus'), 'MANAGER STATUS');
  t.equal(headerFor('ID'), 'ID');
  t.equal(headerFor('TLSStatus'), 'TLS STATUS');
  const rows = [
    { ID: 'a', Hostname: 'mgr-1', ManagerStatus: 'Leader' },
    { ID: 'bbbbbb', Hostname: 'w', ManagerStatus: '' },
  ];
  const tpl = parseTemplate('table {{.ID}}\\t{{.Hostname}}\\t{{.ManagerStatus}}');
  t.equal(tpl.table, true);
  t.equal(renderTemplateRows(tpl, rows), 'ID       HOSTNAME   MANAGER STATUS\na        mgr-1      Leader\nbbbbbb   w\n');
  t.equal(renderTemplateRows(parseTemplate('{{.ID}}={{.Hostname}}'), rows), 'a=mgr-1\nbbbbbb=w\n', 'no header without table');
});

t.test('--format: table, json, a template, or a clear error', async (t) => {
  t.same(parseOutput(undefined), { kind: 'table' });
  t.same(parseOutput('table'), { kind: 'table' });
  t.same(parseOutput('json'), { kind: 'json' });
  t.equal(parseOutput('{{.ID}}').kind, 'template');
  t.equal(parseOutput('table {{.ID}}').kind, 'template');
  t.throws(() => parseOutput('yaml'), { code: 'EINVAL', message: /use table, json or a template/ });
  t.equal(renderDocuments(parseOutput('json'), [{ A: 1 }]), '[\n  {\n    "A": 1\n  }\n]\n');
  t.equal(renderDocuments(parseOutput('{{.A}}'), [{ A: 1 }, { A: 2 }]), '1\n2\n');
  t.equal(printValue(undefined), '<no value>');
});
