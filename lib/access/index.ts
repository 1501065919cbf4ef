export * from './request.ts';
export * from './token.ts';
export * from './service.ts';
export * from './open.ts';
