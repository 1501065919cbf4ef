import { formatTokens, shortAddress } from '@/lib/web/format';
import { getAppConfig } from '@/lib/web/server-app-config';

export async function AccessRuleText({ kind, token, minBalance }: { kind: string; token: string; minBalance: string }) {
  if (kind === 'Public') return <>Public — anyone may fetch</>;
  if (kind === 'Allowlist') return <>Allowlist — only listed accounts</>;
  const app = await getAppConfig();
  const ours = app.contracts && token.toLowerCase() === app.contracts.token.toLowerCase();
  return (
    <>
      Token holders — at least {formatTokens(minBalance)} {ours ? app.tokenSymbol : `of ${shortAddress(token)}`}
    </>
  );
}
