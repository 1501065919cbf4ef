// Moved to the test kit, tests/helpers/consumer.ts (scripts use it too). This re-export keeps tests
// written against the old path working until they are updated; import the kit directly.
export * from '../helpers/consumer.ts';
