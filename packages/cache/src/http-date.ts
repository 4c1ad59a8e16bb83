/**
 * @module http-date
 * `parseHttpDate()`: reads an HTTP-date (RFC 9110 §5.6.7) and nothing else. `Date.parse` takes far
 * more (V8 reads a bare number as a year: `'3600'` is the year 3600, `'2'` is 2001-02-01), while a
 * field that is no HTTP-date must count as invalid: an `Expires` as already expired (RFC 9111 §5.3),
 * a `Date` or `If-Modified-Since` as absent (RFC 9110 §13.1.3).
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const MONTH = `(${MONTHS.join('|')})`
const DAY_NAME = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})'

/** `Sun, 06 Nov 1994 08:49:37 GMT`: the form senders use. */
const IMF_FIXDATE = new RegExp(`^${DAY_NAME}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`)
/** `Sunday, 06-Nov-94 08:49:37 GMT`: obsolete, recipients must accept it. */
const RFC850_DATE = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`
)
/** `Sun Nov  6 08:49:37 1994`: obsolete, recipients must accept it; its time is GMT too. */
const ASCTIME_DATE = new RegExp(`^${DAY_NAME} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`)

/** How far ahead of now an RFC 850 two-digit year may be before it is read as a past one. */
const FIFTY_YEARS = 50

/**
 * The time of an HTTP-date in ms since the epoch (GMT, as the field says); `NaN` for anything
 * else: another format, a different case (HTTP-date is case-sensitive), an impossible day or time.
 * An RFC 850 two-digit year more than 50 years ahead of `now` is the latest past year with those
 * digits (RFC 9110 §5.6.7). Leading and trailing whitespace is ignored; the weekday is not checked.
 */
export function parseHttpDate(value: string | undefined, now: number = Date.now()): number {
  if (value === undefined) return Number.NaN
  const text = value.trim()
  let m: RegExpExecArray | null = IMF_FIXDATE.exec(text)
  if (m !== null) return utc(Number(m[3]), m[2], Number(m[1]), m[4], m[5], m[6])
  m = ASCTIME_DATE.exec(text)
  if (m !== null) return utc(Number(m[6]), m[1], Number(m[2]), m[3], m[4], m[5])
  const rfc850 = RFC850_DATE.exec(text)
  if (rfc850 === null) return Number.NaN
  const [, day, month, yy, hh, mm, ss] = rfc850
  const at = (year: number) => utc(year, month, Number(day), hh, mm, ss)
  const thisYear = new Date(now).getUTCFullYear()
  const year = thisYear - (thisYear % 100) + Number(yy)
  const limit = new Date(now)
  limit.setUTCFullYear(thisYear + FIFTY_YEARS)
  return at(year) > limit.getTime() ? at(year - 100) : at(year)
}

/** The UTC time of these fields; `NaN` when a field is out of range (31 Feb, 24:00:00). */
function utc(
  year: number,
  month: string | undefined,
  day: number,
  hh: string | undefined,
  mm: string | undefined,
  ss: string | undefined
): number {
  const monthIndex = MONTHS.indexOf(month ?? '')
  const hours = Number(hh)
  const minutes = Number(mm)
  // 60: a leap second (RFC 5322 §3.3), counted as the next minute's first.
  const seconds = Number(ss)
  if (hours > 23 || minutes > 59 || seconds > 60 || day < 1) return Number.NaN
  const date = new Date(0)
  // `setUTCFullYear`, not `Date.UTC`: `Date.UTC` reads the years 0-99 as 1900-1999.
  date.setUTCFullYear(year, monthIndex, day)
  if (date.getUTCMonth() !== monthIndex) return Number.NaN
  date.setUTCHours(hours, minutes, seconds)
  return date.getTime()
}
