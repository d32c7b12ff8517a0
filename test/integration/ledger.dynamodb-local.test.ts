import { hasJava, startDynamoDbLocal } from '../../local/dynamodb.js';
import { describeLedgerContract } from './ledger.contract.js';

if (hasJava()) {
  describeLedgerContract('DynamoDB Local', async () => {
    const engine = await startDynamoDbLocal();
    if (engine === null) throw new Error('java was on PATH a moment ago and is gone');
    return engine;
  });
} else {
  // Skipped, never silently passed: jest hides the names of a wholly skipped file, so the
  // reason is also printed.
  const reason = 'ledger contract on DynamoDB Local skipped: `java` is not on PATH (CI has it)';
  console.warn(reason);
  test.skip(reason, () => {});
}
