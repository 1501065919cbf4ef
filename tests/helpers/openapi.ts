// A small OpenAPI 3.0 request/response validator for the test pinning service: the operation is
// found by method and path template, then the query parameters (form style, explode=false arrays,
// JSON-content parameters), the request body and the response body are checked against the
// document's schemas with ajv. Enough of OpenAPI for docs/specs/ipfs-pinning-service.yaml.
import fs from 'node:fs';
import Ajv from 'ajv';
import yaml from 'js-yaml';

type Obj = Record<string, any>;

export interface Operation {
  operationId: string;
  params: Record<string, string>;
}

export class OpenApi {
  private readonly doc: Obj;
  private readonly ajv: Ajv.Ajv;
  constructor(file: string) {
    this.doc = yaml.load(fs.readFileSync(file, 'utf8')) as Obj;
    this.ajv = new Ajv({ unknownFormats: 'ignore', allErrors: true, schemaId: 'auto' });
    this.ajv.addSchema(this.doc, 'spec');
  }

  private deref(o: Obj): Obj {
    let x = o;
    while (x && typeof x.$ref === 'string') {
      x = x.$ref
        .slice(2)
        .split('/')
        .reduce((a: Obj, k: string) => a[k], this.doc);
    }
    return x;
  }

  /** JSON-pointer refs inside the document become refs into the registered 'spec' schema. */
  private schema(s: Obj): Obj {
    return JSON.parse(JSON.stringify(s).replace(/"\$ref":"#\//g, '"$ref":"spec#/'));
  }

  private check(schema: Obj, value: unknown, where: string): string[] {
    const valid = this.ajv.validate(this.schema(schema), value);
    if (valid) return [];
    return (this.ajv.errors ?? []).map((e) => `${where}${e.dataPath} ${e.message}`);
  }

  find(method: string, pathname: string): { op: Obj; pathItem: Obj; operation: Operation } | null {
    for (const [template, item] of Object.entries(this.doc.paths as Obj)) {
      const names: string[] = [];
      const re = new RegExp(`^${template.replace(/\{([^}]+)\}/g, (_m, n: string) => (names.push(n), '([^/]+)'))}$`);
      const m = re.exec(pathname);
      if (!m) continue;
      const op = (item as Obj)[method.toLowerCase()];
      if (!op) return null;
      const params: Record<string, string> = {};
      names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)));
      return { op, pathItem: item as Obj, operation: { operationId: op.operationId, params } };
    }
    return null;
  }

  /** Problems with a request (empty: valid). */
  validateRequest(method: string, url: URL, headers: Record<string, string | string[] | undefined>, body: unknown): string[] {
    const found = this.find(method, url.pathname);
    if (!found) return [`${method} ${url.pathname} is not an operation of the spec`];
    const problems: string[] = [];
    if (!/^Bearer \S+$/.test(String(headers.authorization ?? ''))) problems.push('Authorization: Bearer <token> is required');
    const params = [...(found.pathItem.parameters ?? []), ...(found.op.parameters ?? [])].map((p: Obj) => this.deref(p));
    const known = new Set(params.map((p: Obj) => p.name));
    for (const k of url.searchParams.keys()) if (!known.has(k)) problems.push(`query parameter ${k} is not in the spec`);
    for (const p of params) {
      if (p.in !== 'query') continue;
      const raw = url.searchParams.get(p.name);
      if (raw === null) {
        if (p.required) problems.push(`query parameter ${p.name} is required`);
        continue;
      }
      let value: unknown = raw;
      let schema: Obj = p.schema;
      if (p.content) {
        schema = p.content['application/json'].schema;
        try {
          value = JSON.parse(raw);
        } catch {
          problems.push(`query parameter ${p.name} is not JSON`);
          continue;
        }
      } else {
        const s = this.deref(schema);
        if (s.type === 'array') value = raw.split(',');
        else if (s.type === 'integer') value = /^-?\d+$/.test(raw) ? Number(raw) : raw;
      }
      problems.push(...this.check(schema, value, `query ${p.name}`));
    }
    if (found.op.requestBody) {
      const rb = this.deref(found.op.requestBody);
      if (String(headers['content-type'] ?? '').split(';')[0] !== 'application/json') problems.push('request body must be application/json');
      else problems.push(...this.check(rb.content['application/json'].schema, body, 'body'));
    } else if (body !== undefined) problems.push(`${found.operation.operationId} takes no request body`);
    return problems;
  }

  /** Problems with a response (empty: valid). */
  validateResponse(method: string, pathname: string, status: number, contentType: string | undefined, body: unknown): string[] {
    const found = this.find(method, pathname);
    if (!found) return [`${method} ${pathname} is not an operation of the spec`];
    const responses = found.op.responses as Obj;
    const spec = responses[String(status)] ?? responses[`${String(status)[0]}XX`];
    if (!spec) return [`${found.operation.operationId}: status ${status} is not in the spec`];
    const r = this.deref(spec);
    if (!r.content) return body === undefined || body === '' ? [] : [`${found.operation.operationId} ${status}: the spec gives no body`];
    if (String(contentType ?? '').split(';')[0] !== 'application/json')
      return [`${found.operation.operationId} ${status}: content-type must be application/json`];
    return this.check(r.content['application/json'].schema, body, `${found.operation.operationId} ${status} body`);
  }
}
