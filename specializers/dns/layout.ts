// Record layouts of the DNS tables in the image (u32 words, little-endian).
//
//   DNS_ZONES      one record per zone                          ZONE_WORDS
//   DNS_NAMES      one record per name of every zone: names with ANAME_WORDS
//                  data, empty non-terminals, apexes, names below cuts
//   DNS_NAME_HASH  open-addressing slots, name index + 1 (0 = empty), over the lower-cased
//                  wire name (hashBytesFolded), size a power of two
//   DNS_RRSETS     (qtype, template) pairs, per name, sorted by qtype  TYPEMAP_WORDS
//   DNS_ANSWERS    one record per answer template                 TEMPLATE_WORDS
//   DNS_DENIAL     per signed zone, its NSEC (canonical order) or NSEC3 (hash order)
//                  RRsets with their RRSIGs, searched at run time for a name the zone
//                  does not have                                   DENIAL_WORDS
//
// An answer template is a response without its header and question: the answer,
// authority and additional sections, names compressed, written for a reference question
// name Q0 at offset 12. At run time the response is
//
//   ┌────────┬──────────────────────┬──────────────────────────────┬─────┐
//   │ header │ question (as it came)│ template bytes               │ OPT │
//   │ 12     │ qlen + 4             │ TPL_LEN                      │ 11  │
//   └────────┴──────────────────────┴──────────────────────────────┴─────┘
//
// A pointer to offset 12 names the query name itself, whatever it is (the owner of a
// wildcard answer, of an exact answer). Every other pointer that points into the question
// names a suffix of Q0; in a template whose question may differ from Q0 (wildcard,
// negative and referral templates: Q0 is "*." + the closest encloser) such pointers are
// moved by qlen − Q0 length. Templates for an exact name never move (the question has
// Q0's length). Each template lists all its pointers, which is also what lets a DNAME's
// target answer be appended after the synthesized CNAME (RFC 6672 §3.2).

export const ZONE_WORDS = 8;
export const ZONE_ORIGIN_OFF = 0; // lower-cased wire name, BLOB bytes
export const ZONE_ORIGIN_LEN = 1;
export const ZONE_NAME = 2; // the apex's name record
/** ZONE_FLAG_*; 0 in what `build` writes: serve sets them when it links secondary zones in (link.ts). */
export const ZONE_FLAGS = 3;
/** A secondary zone: NOTIFY for its apex is taken (from its primaries: the server checks the source). */
export const ZONE_FLAG_SECONDARY = 1;
/** Every query under the zone is answered SERVFAIL: a secondary not yet transferred, or past its SOA expire (RFC 1035 §3.3.13). */
export const ZONE_FLAG_SERVFAIL = 2;
/** A signed zone whose denials are NSEC (RFC 4035 §3.1.3): DNS_DENIAL keyed by lower-cased owner, canonical order (RFC 4034 §6.1). */
export const ZONE_FLAG_NSEC = 4;
/** A signed zone whose denials are NSEC3 (RFC 5155 §7.2): DNS_DENIAL keyed by the raw owner hash; ZONE_NSEC3 holds the parameters. */
export const ZONE_FLAG_NSEC3 = 8;
/** The zone's run of DNS_DENIAL records (signed zones). */
export const ZONE_DENIAL_AT = 4;
export const ZONE_DENIAL_COUNT = 5;
/** NSEC3: BLOB offset of the hash parameters: u8 algorithm, u16 LE iterations, u8 salt length, the salt. */
export const ZONE_NSEC3 = 6;
/**
 * The most NSEC3 iterations a zone may have: each costs one more SHA-1 per NSEC3 denial
 * answered, for names a client chooses; above 150 validators may treat the zone as
 * insecure anyway (RFC 9276 §3.2). The build refuses more, the loader too.
 */
export const MAX_NSEC3_ITERATIONS = 150;

export const NAME_WORDS = 12;
export const NAME_KEY_OFF = 0; // lower-cased wire name, BLOB bytes
export const NAME_KEY_LEN = 1;
export const NAME_HASH = 2;
export const NAME_FLAGS = 3;
export const NAME_ZONE = 4;
/** Template for a query of exactly this name whose qtype is not in the type map. */
export const NAME_EXACT_DEFAULT = 5;
export const NAME_TYPES_AT = 6; // first (qtype, template) pair in DNS_RRSETS
export const NAME_TYPES_COUNT = 7;
/** What a query for a name below this one, that does not exist, gets: DESC_*. */
export const NAME_DESC_KIND = 8;
/** DESC_NXDOMAIN / DESC_REFERRAL / DESC_DNAME: the template; DESC_WILDCARD: the wildcard's default. */
export const NAME_DESC_TPL = 9;
export const NAME_WILD_AT = 10; // DESC_WILDCARD: the wildcard's (qtype, template) pairs
export const NAME_WILD_COUNT = 11;

export const NAME_FLAG_APEX = 1;
export const NAME_FLAG_DELEGATION = 2; // NS here, not at an apex: a zone cut
export const NAME_FLAG_BELOW_CUT = 4; // occluded by a cut above (glue lives here)
export const NAME_FLAG_DATA = 8; // has RRsets (else an empty non-terminal)
/** The name's zone answers SERVFAIL (ZONE_FLAG_SERVFAIL, copied onto its names by link.ts: the responder reads the name record it has already). */
export const NAME_FLAG_SERVFAIL = 16;
/**
 * Not a name for queries: an NSEC3 owner of a signed zone, holding only its NSEC3 and
 * RRSIGs (RFC 5155 §7.2.8). The lookup passes over it, for the name and below it, as if
 * it were not there (as NSD does for the name itself).
 */
export const NAME_FLAG_ABSENT = 32;

export const DESC_NXDOMAIN = 0;
export const DESC_WILDCARD = 1;
export const DESC_REFERRAL = 2;
export const DESC_DNAME = 3;

export const TYPEMAP_WORDS = 2;
export const TM_QTYPE = 0;
export const TM_TPL = 1;

export const TEMPLATE_WORDS = 12;
export const TPL_OFF = 0; // BLOB offset of the section bytes
export const TPL_LEN = 1;
export const TPL_FLAGS = 2; // rcode (low 4 bits) | TPLF_*
export const TPL_COUNTS = 3; // ancount << 16 | nscount
export const TPL_ARCOUNT = 4;
export const TPL_Q0_LEN = 5; // wire length of the reference question name
export const TPL_PTR_OFF = 6; // BLOB offset of u16 LE positions of every pointer (relative to the template)
export const TPL_PTR_COUNT = 7;
/** Where the additional section starts (relative); the template can be cut there. */
export const TPL_AR_AT = 8;
/** TPLF_DNAME: offset of the DNAME target name inside the template; its TTL in TPL_EXTRA. */
export const TPL_DNAME_TARGET = 8;
export const TPL_EXTRA = 9;
/** The RRsets of the additional section: u16 LE pairs (end offset, records so far), so a
 * response that does not fit keeps the RRsets that do, as NSD does. */
export const TPL_ARSETS_OFF = 10;
export const TPL_ARSETS_COUNT = 11;

/**
 * The longest template any response can carry: a message is at most 65,535 bytes (TCP's
 * two-byte length, RFC 1035 §4.2.2), less the header and the shortest question (the root
 * name, QTYPE, QCLASS). The build cuts templates to it (TemplateWriter.fit): additional
 * RRsets past it are left out; a template whose answer and authority sections are longer
 * is stored as its first MAX_TEMPLATE_LEN + 1 bytes with TPL_AR_AT at its end, which no
 * room at run time holds, so every query for it is answered TC=1 without records (what
 * NSD answers for an RRset that does not fit: 5,000 A records at one name, or a TXT
 * record of 65,535 octets, over UDP and TCP alike).
 */
export const MAX_TEMPLATE_LEN = 65535 - 12 - 5;

export const TPLF_AA = 0x100;
/** A DNAME: the responder appends the CNAME synthesized from the query name (RFC 6672). */
export const TPLF_DNAME = 0x400;
/** A referral with a twin in TPL_EXTRA for queries that came over IPv6: the same records
 * with the AAAA glue before the A glue (NSD orders glue by the query's transport). */
export const TPLF_V6_TWIN = 0x800;

/**
 * The template that follows this one (index + 1) is its twin for queries with the DO bit
 * (RFC 3225): the same answer with the RRSIGs and denial records of a signed zone. The
 * DO twin may have an IPv6 twin of its own (TPLF_V6_TWIN), which is the DO twin's.
 */
export const TPLF_DO_NEXT = 0x1000;
/**
 * A denial record found at run time goes into this template (a wildcard answer, an
 * NXDOMAIN or a wildcard NODATA of a signed zone): TPL_EXTRA is the BLOB offset of its
 * splice descriptor (SPLICE_*).
 */
export const TPLF_SPLICE = 0x2000;
/**
 * A referral whose first additional RRset is an address of the kind sent first (A over
 * IPv4, AAAA over IPv6): when none of its additional RRsets fits, the answer is truncated
 * (TC=1) rather than sent without an address to follow, as NSD does ("delegations should
 * have a usable address in it").
 */
export const TPLF_NEEDS_ADDRESS = 0x4000;

/**
 * Splice descriptor, in the BLOB: u16 LE where (relative to the template), u8 kind, u8
 * count, then `count` u32 LE: the entries the template has already, as places in the
 * zone's run of DNS_DENIAL + 1.
 */
export const SPLICE_HEAD = 4;
/** The NSEC that covers the query name (RFC 4035 §3.1.3.2). */
export const SPLICE_NSEC_COVER = 1;
/** The NSEC3 that covers the next closer name (RFC 5155 §7.2.1). */
export const SPLICE_NSEC3_NEXT_CLOSER = 2;

export const DENIAL_WORDS = 6;
/** NSEC: the lower-cased owner; NSEC3: the owner's hash, raw (base32hex order is byte order). */
export const DEN_KEY_OFF = 0;
export const DEN_KEY_LEN = 1;
/** The owner as written (wire, case kept). */
export const DEN_OWNER_OFF = 2;
/** The records after the owner: the first from its TYPE on, every later one a 2-byte pointer (to the owner, set at run time) then TYPE on. */
export const DEN_BODY_OFF = 3;
export const DEN_BODY_LEN = 4;
/** owner length << 16 | record count. */
export const DEN_OWNER_LEN_COUNT = 5;

/** EDNS(0): the UDP payload size the appliance offers and honours at most (DNS flag day 2020). */
export const EDNS_UDP_SIZE = 1232;
export const OPT_RR_LEN = 11;
