import { hasJava, startDynamoDbLocal } from '../../local/dynamodb.js';
import { describeLedgerContract } from './ledger.contract.js';

if (hasJava()) {
  describeLedgerContract('DynamoDB Local', async () => {
    const engine = await startDynamoDbLocal();
    if (engine === null) throw new Error('java was on PATH a moment ago and is gone');
    return engine;
  });
} else {
  // Skipped, never silently passed: the reason shows in jest's output as a skipped test.
  test.skip('ledger contract on DynamoDB Local: skipped because `java` is not on PATH (CI has it)', () => {});
}
