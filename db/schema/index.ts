// Every table, for drizzle (queries with `schema`); drizzle-kit reads ./db/schema/*.ts directly.
// One file per area; add a line here when an area adds its file.
export * from './indexer.ts';
export * from './artifacts.ts';
export * from './access.ts';
export * from './events.ts';
export * from './ipfs.ts';
export * from './s3store.ts';
export * from './cluster.ts';
