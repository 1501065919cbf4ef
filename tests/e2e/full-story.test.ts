import { describe, expect, it } from 'vitest';
import { openSession, useBrowser } from './support/browser.ts';
import { AppShell, ModelPage, NewProposalPage, ProposalPage, eventually } from './support/pages.ts';
import { useStack } from './support/stack.ts';
import { buildSafetensors, demoModelV1, type TensorSpec } from '../../lib/devchain/demo-weights.ts';
import { modelRegistryAbi } from '../../lib/contracts/generated.ts';

describe('GOV: a model update from upload to execution', () => {
  const stack = useStack();
  const browser = useBrowser();

  it('GOV-001: a maintainer uploads a version with one tensor reshaped and one added, sees the diff, proposes; three holders vote; it is queued, executed, and becomes current', async () => {
    const { gov, deployment } = stack;
    const registry = deployment.contracts.ModelRegistry;
    const modelId = (await gov.pub.readContract({ address: registry, abi: modelRegistryAbi, functionName: 'modelIdOf', args: ['tiny-lm'] })) as bigint;
    const [, versionsBefore, currentBefore] = (await gov.pub.readContract({
      address: registry,
      abi: modelRegistryAbi,
      functionName: 'getModel',
      args: [modelId],
    })) as readonly [string, number, number, unknown];

    // New weights: the MLP up-projection reshaped, an untied LM head added.
    const tensors: TensorSpec[] = demoModelV1().tensors.map((t) => (t.name === 'model.layers.0.mlp.up_proj.weight' ? { ...t, shape: [320, 64] } : t));
    tensors.push({ name: 'lm_head.weight', dtype: 'F32', shape: [512, 64] });
    const weights = buildSafetensors(tensors, 1001 + (Date.now() % 1000), { format: 'pt' });
    const config = Buffer.from(JSON.stringify({ model_type: 'llama', hidden_size: 64, intermediate_size: 320, tie_word_embeddings: false }));

    const s = await openSession(browser.current, stack.baseUrl);
    const shell = new AppShell(s.page);
    const form = new NewProposalPage(s.page);
    await form.open('publish', 'tiny-lm');
    await shell.connectDevAccount(0);
    await form.uploadFiles([
      { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: weights },
      { name: 'config.json', mimeType: 'application/json', buffer: config },
    ]);
    // The draft shows the same diff view voters will see on the proposal page.
    const draft = await form.draftDiff().getByTestId('tensor-changes').innerText();
    expect(draft).toMatch(/model\.layers\.0\.mlp\.up_proj\.weight\s+reshaped/);
    expect(draft).toMatch(/lm_head\.weight\s+added/);
    await form.storeManifest();
    await form.fill('tiny-lm: wider MLP', 'Widens the MLP up-projection to 320 and adds an untied **LM head**.');
    await s.shot('GOV-001-1-new-proposal-diff');
    const id = await form.submit();

    const proposal = new ProposalPage(s.page);
    const diff = proposal.diff();
    await diff.waitFor();
    const tensorTable = await diff.getByTestId('tensor-changes').innerText();
    expect(tensorTable).toMatch(/model\.layers\.0\.mlp\.up_proj\.weight\s+reshaped\s+F32 \[256, 64\]\s+F32 \[320, 64\]/);
    expect(tensorTable).toMatch(/lm_head\.weight\s+added/);
    expect(await diff.getByTestId('param-delta').innerText()).toMatch(/^\+/);
    expect(await s.page.getByTestId('actions').innerText()).toMatch(new RegExp(`Publish version ${versionsBefore + 1} of tiny-lm: 2 files`));
    expect(await s.page.getByTestId('simulation-outcome').innerText()).toContain('every action would succeed');
    await s.shot('GOV-001-2-proposal-diff');

    await gov.advance(stack.votingDelay + 1);
    await proposal.waitForLiveState('Active');
    await shell.connectDevAccount(1);
    await proposal.vote('Against');
    await shell.connectDevAccount(2);
    await proposal.vote('For', 'Checked the diff: the LM head is new, the rest matches v1.');
    await shell.connectDevAccount(3);
    await proposal.vote('For');
    await eventually(async () => {
      await s.page.reload();
      return (await proposal.voters().getByRole('row').count()) === 4;
    }, 'three voters listed');
    // the reason went with account #2's vote only: switching accounts empties the form
    expect((await proposal.voters().innerText()).match(/Checked the diff/g)).toHaveLength(1);
    await s.shot('GOV-001-3-voted');

    await gov.advance(stack.votingPeriod + 1);
    await proposal.waitForLiveState('Succeeded');
    await proposal.clickWhenEnabled(proposal.queueButton());
    await proposal.waitForLiveState('Queued');
    // before the ETA: a countdown, and Execute locked
    expect(await s.page.getByTestId('eta-countdown').innerText()).toMatch(/to go|any moment/i);
    await gov.advance(stack.timelockDelay + 1);
    await proposal.clickWhenEnabled(proposal.executeButton());
    await proposal.waitForIndexedState('Executed');
    expect(await s.page.getByTestId('lifecycle').innerText()).toMatch(/Queued in the timelock[\s\S]*Executed/);
    await s.shot('GOV-001-4-executed');

    const model = new ModelPage(s.page);
    await model.open('tiny-lm');
    expect(await model.currentVersion().innerText()).toBe(`v${versionsBefore + 1}`);
    expect(await model.version(versionsBefore + 1).innerText()).toContain('current');
    expect(await model.version(versionsBefore + 1).innerText()).toContain('tiny-lm: wider MLP');
    // the version it replaced says until when it was current, and which proposal ended that
    if (currentBefore > 0) {
      const previous = await s.page.getByTestId(`version-${currentBefore}-current`).innerText();
      expect(previous).toMatch(/Current from .* to .*\(by .+, tx 0x[0-9a-f]/);
    }
    await s.shot('GOV-001-5-model-current');
    expect(id).toMatch(/^\d+$/);
    expect(s.errors).toEqual([]);
    await s.context.close();
  });
});
