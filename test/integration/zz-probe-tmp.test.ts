import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { startDynamoDbLocal, localDynamoDbClient } from '../../local/dynamodb.js';
import { createLedgerTable } from '../../lambda/aws/ledger.js';
test('probe', async () => {
  for (let boot = 0; boot < 3; boot++) {
    const e = (await startDynamoDbLocal())!;
    const c = localDynamoDbClient(e.endpoint);
    await createLedgerTable(c, 'ttt');
    for (let round = 0; round < 3; round++) {
      const rs = await Promise.all(Array.from({ length: 60 }, (_, i) => c.send(new PutItemCommand({ TableName: 'ttt',
        Item: { pk: { S: 'p' + round }, sk: { S: 'r' + (i % 3) }, i: { N: String(i) } }, ConditionExpression: 'attribute_not_exists(pk)' }))
        .then((r) => `ok${r.$metadata.attempts}`, (err) => `${err.name}${err.$metadata?.attempts}`)));
      const tally: Record<string, number> = {}; for (const r of rs) tally[r] = (tally[r] ?? 0) + 1;
      console.log('boot', boot, 'round', round, JSON.stringify(tally));
    }
    c.destroy(); await e.close();
  }
}, 120000);
