import Link from 'next/link';

export default function NotFound() {
  return (
    <>
      <h1>Not found</h1>
      <p>
        There is no such model or proposal in the index. If you just sent the transaction that creates it, the index may be a block behind: reload in a moment.
      </p>
      <p>
        <Link href="/">Models</Link> · <Link href="/proposals">Proposals</Link>
      </p>
    </>
  );
}
