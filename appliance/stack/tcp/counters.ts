// TCP's counters: a family of slots at TCP_BASE in each worker's counter stride
// (appliance/stack/counters.ts). Events, limits, and drops by reason; two gauges (the
// connections and half-open connections there are now).

export const T_SYN_RECEIVED = 0;
export const T_COOKIES_SENT = 1;
export const T_COOKIES_ACCEPTED = 2;
export const T_ESTABLISHED = 3;
export const T_CLOSED = 4; // closed in order (LAST-ACK acknowledged, TIME-WAIT entered, FIN-WAIT-2 timed out)
export const T_RESETS_SENT = 5;
export const T_RESETS_RECEIVED = 6;
export const T_CHALLENGE_ACKS = 7;
export const T_RETRANSMITS = 8; // segments sent again
export const T_RTO_EXPIRIES = 9;
export const T_FAST_RETRANSMITS = 10;
export const T_ZERO_WINDOW_PROBES = 11;
export const T_SEGMENTS_COPIED = 12; // data segments built on the copy path
export const T_SEGMENTS_TEMPLATE = 13; // data segments from the image's pre-cut pieces
export const T_ACKS_SENT = 14; // segments without data or SYN/FIN
export const T_TIME_WAIT_ENTERED = 15;
export const T_TIME_WAIT_RECYCLED = 16; // the TIME-WAIT table was full: the oldest row went early
export const T_EVICTED = 17; // the table was full: the longest-idle connection was closed for a new one
export const T_TABLE_FULL = 18; // the table was full and nothing could be evicted: the handshake was refused
export const T_HALF_OPEN_LIMIT = 19; // SYNs answered with a cookie because half-open slots passed the bound
export const T_BUFFER_EXHAUSTED = 20; // an answer found no arena block: the connection was reset
export const T_RETRY_LIMIT = 21; // retransmissions gave up: reset
export const T_SYN_ACK_TIMEOUTS = 22; // a half-open connection never completed
export const T_IDLE_TIMEOUTS = 23; // closed (FIN) after the idle deadline
export const T_MESSAGE_TIMEOUTS = 24; // closed (FIN) after a request or message took too long
export const T_SEND_TIMEOUTS = 25; // reset: the peer took none of our data for too long
export const T_FIN_WAIT_2_TIMEOUTS = 26;
export const T_WINDOW_CLOSED = 27; // the application backed up: a zero window advertised
export const T_DROP_OUT_OF_WINDOW = 28;
export const T_DROP_BAD_ACK = 29; // acknowledges data never sent, or too old
export const T_DROP_BAD_COOKIE = 30; // an ACK for no connection whose cookie did not check (answered with RST)
export const T_DROP_NO_LISTENER = 31; // to a port we do not serve (answered with RST)
export const T_DROP_NO_CONNECTION = 32; // neither SYN nor a cookie, for no connection (answered with RST, unless RST)
export const T_DROP_OUT_OF_ORDER = 33; // data beyond RCV.NXT (not queued; a duplicate ACK goes back)
export const T_DROP_BAD_PORT = 34; // port 0
export const T_SYN_DATA_IGNORED = 35; // data on a SYN (not accepted before the handshake completes)
export const T_CONNECTIONS = 36; // gauge
export const T_HALF_OPEN = 37; // gauge
export const T_CHALLENGE_ACKS_LIMITED = 38; // challenge ACKs not sent (RFC 5961 §7 rate limit)
export const T_SEGMENTS_IN = 39;
export const T_SEGMENTS_OUT = 40;
export const T_SYNS_SHED = 41; // SYNs not answered: the worker was backlogged (its receive ring kept full batches waiting)
export const TCP_COUNTERS = 42;

export const TCP_COUNTER_NAMES = [
  'syn_received', 'cookies_sent', 'cookies_accepted', 'established', 'closed', 'resets_sent', 'resets_received',
  'challenge_acks', 'retransmits', 'rto_expiries', 'fast_retransmits', 'zero_window_probes', 'segments_copied',
  'segments_template', 'acks_sent', 'time_wait_entered', 'time_wait_recycled', 'evicted', 'table_full',
  'half_open_limit', 'buffer_exhausted', 'retry_limit', 'syn_ack_timeouts', 'idle_timeouts', 'message_timeouts',
  'send_timeouts', 'fin_wait_2_timeouts', 'window_closed', 'drop_out_of_window', 'drop_bad_ack', 'drop_bad_cookie',
  'drop_no_listener', 'drop_no_connection', 'drop_out_of_order', 'drop_bad_port', 'syn_data_ignored', 'connections',
  'half_open', 'challenge_acks_limited', 'segments_in', 'segments_out', 'syns_shed',
];
