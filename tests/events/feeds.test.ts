// Atom feeds from the real server over an anvil index, parsed with a real XML parser
// (fast-xml-parser): well-formed, the required RFC 4287 elements, stable ids, hostile text kept as text.
import fs from 'node:fs';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFunctionData } from 'viem';
import { modelRegistryAbi } from '../../lib/contracts/generated.ts';
import { Governance } from '../../lib/devchain/governance.ts';
import type { RunningServer } from '../../lib/server/main.ts';
import { DEV_ACCOUNTS } from '../helpers/anvil.ts';
import { asGuardian, makeVersion, modelIdOf, publish, startTestChain, tmpDir, type TestChain } from '../consumer/fixtures.ts';
import { serverOn } from './helpers.ts';

let chain: TestChain;
let server: RunningServer;
let work: string;
const HOSTILE = '<script>alert(1)</script> & "quotes" \u0001\u0008 ]]> <![CDATA[x]]>';

beforeAll(async () => {
  work = tmpDir('modeldao-feeds-');
  chain = await startTestChain();
  server = await serverOn(chain, `${work}/data`);
  await publish(chain, 'feed-lm', makeVersion('feed-lm', { 'a.bin': 10 }));
  await publish(chain, 'feed-lm', makeVersion('feed-lm', { 'a.bin': 11 }), { parent: 1 });
  await asGuardian(chain, 'revokeVersion', [await modelIdOf(chain, 'feed-lm'), 1]);
  const gov = new Governance(chain.rpcUrl, chain.deployment);
  await gov.delegate(DEV_ACCOUNTS[0].privateKey);
  // the next block's timestamp must be past the delegation checkpoint for getVotes(clock - 1)
  await gov.client.request({ method: 'evm_increaseTime' as never, params: [2] as never });
  await gov.client.request({ method: 'evm_mine' as never, params: [] as never });
  const action = {
    target: chain.deployment.contracts.ModelRegistry,
    data: encodeFunctionData({ abi: modelRegistryAbi, functionName: 'setCurrentVersion', args: [await modelIdOf(chain, 'feed-lm'), 2] }),
  };
  await gov.propose(DEV_ACCOUNTS[0].privateKey, [action], `# Title ${HOSTILE}\n\nbody ${HOSTILE}`);
  await server.waitForIndex();
}, 180_000);

afterAll(async () => {
  await server?.close();
  await chain?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

async function getFeed(path: string) {
  const res = await fetch(`${server.url}${path}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/atom+xml; charset=utf-8');
  const xml = await res.text();
  expect(XMLValidator.validate(xml)).toBe(true);
  const doc = new XMLParser({
    ignoreAttributes: false,
    parseTagValue: false,
    attributeNamePrefix: '@',
    isArray: (name) => ['entry', 'link'].includes(name),
  }).parse(xml);
  const feed = doc.feed;
  expect(feed['@xmlns']).toBe('http://www.w3.org/2005/Atom');
  // RFC 4287 4.1.1: atom:id, atom:title, atom:updated; author (feed-level here); a self link
  expect(typeof feed.id).toBe('string');
  expect(feed.title).toBeTruthy();
  expect(feed.updated).toMatch(RFC3339);
  expect(feed.author.name).toBeTruthy();
  expect(feed.link.find((l: any) => l['@rel'] === 'self')['@href']).toBe(`${server.url.replace('localhost', '127.0.0.1')}${path}`);
  for (const e of feed.entry) {
    expect(e.id).toMatch(/^urn:modeldao:/);
    expect(String(e.title).length).toBeGreaterThan(0);
    expect(e.updated).toMatch(RFC3339);
    expect(e.link.find((l: any) => l['@rel'] === 'alternate')['@href']).toMatch(/^http:\/\//);
  }
  expect(new Set(feed.entry.map((e: any) => e.id)).size).toBe(feed.entry.length);
  return feed;
}

describe('Atom feeds', () => {
  it('proposals feed: valid Atom, stable ids, hostile description kept as text', async () => {
    const feed = await getFeed('/api/feeds/proposals.atom');
    expect(feed.entry).toHaveLength(1);
    const e = feed.entry[0];
    expect(e.id).toBe(
      `urn:modeldao:${chain.deployment.chainId}:${chain.deployment.contracts.ModelGovernor.toLowerCase()}:proposal:${e.link[0]['@href'].split('/').at(-1)}`,
    );
    // the parser decodes entities: the text is the original minus the control characters, not markup
    expect(e.title).toBe(`Title ${HOSTILE.replace(/[\u0001\u0008]/g, '')}`);
    expect(e.script).toBeUndefined();
    const again = await getFeed('/api/feeds/proposals.atom');
    expect(again.entry.map((x: any) => x.id)).toEqual(feed.entry.map((x: any) => x.id));
  });

  it('model versions feed: one entry per version with its status, 404 for an unknown model', async () => {
    const feed = await getFeed('/api/feeds/models/feed-lm/versions.atom');
    expect(feed.entry.map((e: any) => e.title)).toEqual(['feed-lm v2 — active (current)', 'feed-lm v1 — revoked']);
    expect(feed.entry[1].author.name).toBe(chain.deployment.guardian.toLowerCase());
    const missing = await fetch(`${server.url}/api/feeds/models/nope/versions.atom`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.code).toBe('unknown_model');
  });
});
