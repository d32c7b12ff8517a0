import { loadDeliverConfig, loadReceiptConfig } from '../../lambda/app/config.js';
import { ConfigError } from '../../lambda/core/errors.js';

describe('handler configuration', () => {
  it('reads the receipt settings, with the policy bundled beside the handler by default', () => {
    expect(loadReceiptConfig({ BOUNCE_TABLE_NAME: 'bounces', BOUNCE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/q.fifo', LAMBDA_TASK_ROOT: '/var/task' })).toEqual({
      tableName: 'bounces',
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/q.fifo',
      policyFile: '/var/task/policy.json',
      stopDisposition: 'STOP_RULE_SET',
    });
  });

  it('answers STOP_RULE in place of STOP_RULE_SET when the deployment says so, and nothing else', () => {
    const base = { BOUNCE_TABLE_NAME: 'bounces', BOUNCE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/q.fifo' };
    expect(loadReceiptConfig({ ...base, STOP_DISPOSITION: 'STOP_RULE' }).stopDisposition).toBe('STOP_RULE');
    expect(loadReceiptConfig({ ...base, STOP_DISPOSITION: '' }).stopDisposition).toBe('STOP_RULE_SET');
    expect(() => loadReceiptConfig({ ...base, STOP_DISPOSITION: 'CONTINUE' })).toThrow(/STOP_DISPOSITION/);
  });

  it('defaults the send rate to 1 per second and accepts any positive number', () => {
    expect(loadDeliverConfig({ BOUNCE_TABLE_NAME: 'bounces' }).sendRatePerSecond).toBe(1);
    expect(loadDeliverConfig({ BOUNCE_TABLE_NAME: 'bounces', SEND_RATE_PER_SECOND: '0.5' }).sendRatePerSecond).toBe(0.5);
  });

  it('runs the delivery function on the minimal environment, the queues optional, an empty one unset', () => {
    expect(loadDeliverConfig({ BOUNCE_TABLE_NAME: 'bounces' })).toEqual({ tableName: 'bounces', sendRatePerSecond: 1, queueUrl: undefined, deadLetterQueueUrl: undefined });
    expect(loadDeliverConfig({ BOUNCE_TABLE_NAME: 'bounces', BOUNCE_QUEUE_URL: '', BOUNCE_DEAD_LETTER_QUEUE_URL: '' })).toMatchObject({ queueUrl: undefined, deadLetterQueueUrl: undefined });
    expect(loadDeliverConfig({ BOUNCE_TABLE_NAME: 'bounces', BOUNCE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/q.fifo', BOUNCE_DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/d.fifo' })).toMatchObject({
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/q.fifo',
      deadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/d.fifo',
    });
    expect(() => loadReceiptConfig({ BOUNCE_TABLE_NAME: 'bounces', BOUNCE_QUEUE_URL: '' })).toThrow(/BOUNCE_QUEUE_URL: (not set|not a queue URL)/);
  });

  it('names every missing or malformed setting in one error', () => {
    expect(() => loadReceiptConfig({ BOUNCE_QUEUE_URL: 'not a url' })).toThrow(ConfigError);
    expect(() => loadReceiptConfig({ BOUNCE_QUEUE_URL: 'not a url' })).toThrow(/BOUNCE_TABLE_NAME: not set; BOUNCE_QUEUE_URL: not a queue URL/);
    expect(() => loadDeliverConfig({ BOUNCE_TABLE_NAME: 'bounces', SEND_RATE_PER_SECOND: '0' })).toThrow(/SEND_RATE_PER_SECOND: must be a positive number/);
    expect(() => loadDeliverConfig({ BOUNCE_TABLE_NAME: 'bounces', SEND_RATE_PER_SECOND: 'fast' })).toThrow(/SEND_RATE_PER_SECOND/);
  });
});
