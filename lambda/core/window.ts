// The SES SendBounce window and the figures derived from it, in one place: the receipt guard,
// the delivery function's cut-off, the queue's retry time and the alarm all read these.
// "You can only call SendBounce within 24 hours of receiving the original message" (SES API
// Reference, SendBounce). docs/delivery.md explains how the margins are spent.

const HOUR_MS = 3_600_000;

/** SES refuses SendBounce for a message received longer ago than this. */
export const SES_BOUNCE_WINDOW_MS = 24 * HOUR_MS;

/** The receipt guard `window-expired`: no bounce is decided for mail older than 23 h, leaving an hour for the queue. */
export const BOUNCE_DECISION_WINDOW_MS = 23 * HOUR_MS;

/** The delivery function sends nothing later than this after receipt (five minutes for the call itself); later is EXPIRED. */
export const SEND_CUTOFF_MS = SES_BOUNCE_WINDOW_MS - 5 * 60_000;

/** Alarm when the oldest queued bounce is this old: a quarter of the window, time enough to act. */
export const OLDEST_BOUNCE_ALARM_MS = 6 * HOUR_MS;
