import { classifySendError } from '../../lambda/aws/ses.js';
import { Pacer } from '../../lambda/app/pacer.js';

describe('SendBounce outcome classification', () => {
  it.each([
    [{ name: 'Throttling', $metadata: { httpStatusCode: 400 } }, 'retryable'],
    [{ name: 'InternalFailure', $metadata: { httpStatusCode: 500 } }, 'retryable'],
    [{ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }, 'retryable'],
    [{ name: 'Error', code: 'ECONNREFUSED' }, 'retryable'],
    [{ name: 'MessageRejected', $metadata: { httpStatusCode: 400 } }, 'rejected'],
    [{ name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400 } }, 'rejected'],
    [{ name: 'Error', code: 'ECONNRESET' }, 'unknown'],
    [{ name: 'TimeoutError' }, 'unknown'],
    [{ name: 'Error', message: 'socket hang up' }, 'unknown'],
    [{ name: 'TimeoutError', message: '@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 3000 ms.' }, 'retryable'],
    [{ name: 'TimeoutError', code: 'ETIMEDOUT', message: 'a request has exceeded the configured 10000 ms requestTimeout.' }, 'unknown'],
    [{ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }, 'retryable'],
    [{ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } }, 'retryable'],
    [{ name: 'RequestExpired', $metadata: { httpStatusCode: 400 } }, 'retryable'],
    [{ name: 'ValidationError', $metadata: { httpStatusCode: 400 } }, 'rejected'],
    // The SDK's error for a 200 whose body was cut off (seen with the real SDK in plain Node): SES sent it.
    [{ name: 'Error', code: 'ECONNRESET', message: 'aborted\n  Deserialization error: …', $metadata: { httpStatusCode: 200, attempts: 1 } }, 'sent'],
    [{ name: 'SyntaxError', message: 'Unexpected end of XML', $metadata: { httpStatusCode: 200 } }, 'sent'],
    // A 5xx whose body is unreadable, or a gateway's 502/504, may come from something that passed the request on.
    [{ name: 'Error', message: 'aborted', $metadata: { httpStatusCode: 503 } }, 'unknown'],
    [{ name: 'UnknownError', message: 'Bad Gateway', $metadata: { httpStatusCode: 502 } }, 'unknown'],
    [{ name: 'AbortError', message: 'The operation was aborted due to timeout' }, 'unknown'],
  ])('%o is %s', (error, kind) => {
    expect(classifySendError(error).kind).toBe(kind);
  });

  it('marks throttling as such, for the Throttled metric', () => {
    expect(classifySendError({ name: 'Throttling', $metadata: { httpStatusCode: 400 } })).toMatchObject({ throttled: true });
    expect(classifySendError({ name: 'InternalFailure', $metadata: { httpStatusCode: 500 } })).toMatchObject({ throttled: false });
  });
});

describe('the pacer', () => {
  function fakeTime() {
    let now = 1_000_000;
    const sleeps: number[] = [];
    return { clock: () => now, sleep: async (ms: number) => void (sleeps.push(ms), (now += ms)), sleeps, advance: (ms: number) => (now += ms) };
  }

  it('spaces calls one interval (plus 3 %) apart, starting one interval after a cold start', async () => {
    const time = fakeTime();
    const pacer = new Pacer(1, time.clock, time.sleep);
    await pacer.wait();
    await pacer.wait();
    await pacer.wait();
    expect(time.sleeps).toEqual([1030, 1030, 1030]);
  });

  it('does not wait when the gap since the last call already exceeds the interval', async () => {
    const time = fakeTime();
    const pacer = new Pacer(2, time.clock, time.sleep);
    await pacer.wait();
    time.advance(5000);
    await pacer.wait();
    expect(time.sleeps).toEqual([515]);
  });

  it('at 1/s never lets a late call make the next one early', async () => {
    const time = fakeTime();
    const pacer = new Pacer(1, time.clock, time.sleep);
    await pacer.wait();
    time.advance(1500);
    await pacer.wait();
    await pacer.wait();
    expect(time.sleeps).toEqual([1030, 1030]);
  });

  it('at 1/s keeps a full interval after a call that left late, after its slot (a slow claim)', async () => {
    const time = fakeTime();
    const pacer = new Pacer(1, time.clock, time.sleep);
    await pacer.wait();
    time.advance(50); // the claim took 50 ms after the slot came
    pacer.started();
    const leftAt = time.clock();
    await pacer.wait();
    pacer.started();
    expect(time.clock() - leftAt).toBeGreaterThanOrEqual(1000);
  });

  it('at 50/s a late start does not slow the calls after it (the sliding second absorbs it)', async () => {
    const time = fakeTime();
    const pacer = new Pacer(50, time.clock, time.sleep);
    await pacer.wait();
    time.advance(3);
    pacer.started();
    const before = time.sleeps.length;
    await pacer.wait();
    expect(time.sleeps.slice(before)[0]).toBeLessThan(21);
  });

  it('at 50/s lets calls catch up after a late one by less than the margin leaves spare in a second', async () => {
    const time = fakeTime();
    const pacer = new Pacer(50, time.clock, time.sleep);
    const starts: number[] = [];
    for (let i = 0; i < 200; i++) {
      await pacer.wait();
      starts.push(time.clock());
      if (i % 10 === 9) time.advance(60); // a batch boundary
    }
    for (let i = 50; i < starts.length; i++) expect(starts[i]! - starts[i - 50]!).toBeGreaterThan(1000);
    expect(starts.at(-1)! - starts[0]!).toBeLessThan(199 * 20.6 + 60 * 20);
  });

  it('waits a full interval after the answer to the first call, which opened the connection', async () => {
    const time = fakeTime();
    const pacer = new Pacer(1, time.clock, time.sleep);
    await pacer.wait();
    time.advance(400); // a slow first call
    pacer.answered();
    await pacer.wait();
    expect(time.sleeps).toEqual([1030, 1030]);
  });

  it('backs off exponentially after a failure, capped at 8 s', async () => {
    const time = fakeTime();
    const pacer = new Pacer(1, time.clock, time.sleep);
    await pacer.wait();
    pacer.backOff(3);
    await pacer.wait();
    expect(time.sleeps[1]).toBeCloseTo(8000, 0);
  });
});
