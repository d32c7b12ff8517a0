import * as z from 'zod/mini';

// A timestamp goes into SendBounce's MessageDsn.ArrivalDate, which the Query protocol sends as
// an xsd:dateTime (ISO 8601, years 0001 to 9999): outside that, SES would refuse the bounce.
export const IsoTimestamp = z.string().check(
  z.refine((value) => !Number.isNaN(Date.parse(value)), { message: 'not a timestamp' }),
  z.refine(
    (value) => {
      const year = new Date(value).getUTCFullYear();
      return Number.isNaN(year) || (year >= 1 && year <= 9999);
    },
    { message: 'not a timestamp SES accepts (years 0001 to 9999)' },
  ),
);
