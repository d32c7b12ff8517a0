import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSqsMessage {
  readonly queueUrl: string;
  readonly body: string;
  readonly groupId: string | undefined;
  readonly deduplicationId: string | undefined;
}

/**
 * A thin SQS fake (no local SQS engine exists): SendMessage over the AWS JSON protocol that
 * the SDK speaks, with the FIFO checks SQS makes. Every other action is an error.
 */
export async function startFakeSqs(): Promise<{ url: string; messages: FakeSqsMessage[]; failNext: (times?: number) => void; close(): Promise<void> }> {
  const messages: FakeSqsMessage[] = [];
  let failures = 0;
  const server: Server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk) => (text += chunk));
    request.on('end', () => {
      const reply = (status: number, body: object) => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
        response.end(JSON.stringify(body));
      };
      const target = request.headers['x-amz-target'];
      if (target !== 'AmazonSQS.SendMessage') return reply(400, { __type: 'com.amazonaws.sqs#InvalidAction', message: `unsupported ${String(target)}` });
      if (failures > 0) {
        failures--;
        return reply(500, { __type: 'com.amazonaws.sqs#InternalError', message: 'scripted failure' });
      }
      const input = JSON.parse(text) as { QueueUrl: string; MessageBody: string; MessageGroupId?: string; MessageDeduplicationId?: string };
      if (input.QueueUrl.endsWith('.fifo') && (!input.MessageGroupId || !input.MessageDeduplicationId)) {
        return reply(400, { __type: 'com.amazonaws.sqs#MissingParameter', message: 'FIFO queues need MessageGroupId and MessageDeduplicationId' });
      }
      messages.push({ queueUrl: input.QueueUrl, body: input.MessageBody, groupId: input.MessageGroupId, deduplicationId: input.MessageDeduplicationId });
      reply(200, { MessageId: randomUUID(), MD5OfMessageBody: createHash('md5').update(input.MessageBody).digest('hex'), SequenceNumber: String(messages.length) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    messages,
    failNext: (times = 1) => {
      failures = times;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
