// The `appliance` command line: build, inspect, serve, bench, stats.
//
// This contract is what tests, scripts and users call; keep it. Errors a person sees are
// ApplianceErrors: printed as "appliance: CODE: message", exit status 1 (2 for usage).

import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { isApplianceError, UsageError } from '../basics/errors.js';
import { parseSize, runBuild } from './commands/build.js';
import { runInspect } from './commands/inspect.js';
import { runServe, type ServeOptions } from './commands/serve.js';
import { toolVersion } from '../specializers/build.js';
import { RRL_DEFAULTS } from './dns/rrl.js';
import { LOG_LEVELS } from './log.js';

/** "rrl-rate" → "rrlRate" (commander's attribute name). */
function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The line of a top-level key in a config file (1 when not there). */
function lineOfKey(file: string, key: string): number {
  const i = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.trimStart().startsWith(key) && /^\s*[\w-]+\s*=/.test(l) && l.trim().split(/\s*=/)[0] === key);
  return i < 0 ? 1 : i + 1;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function intIn(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

/** A share, more than 0 and at most 1. */
function fraction(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 1) throw new InvalidArgumentError('expected a number above 0 and at most 1');
  return n;
}

/** Seconds, decimals allowed (0.5 is half a second). */
function secondsIn(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number of seconds from ${min} to ${max}`);
    return n;
  };
}

export function makeProgram(): Command {
  const program = new Command();
  program
    .name('appliance')
    .description('A specialized web and DNS server: a site and DNS zones are built into one image of\n' +
      'ready-made responses, then served from kernel sockets or a fused AF_XDP stack.')
    .version(toolVersion())
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program.command('build')
    .description('Build sites and DNS zones into one image file.')
    .option('--site <DIR|HOST=DIR>', 'a site directory; HOST=DIR answers for that Host header, a plain DIR is the default site (repeatable)', collect, [])
    .option('--zone <FILE|ORIGIN=FILE>', 'a DNS zone file; its origin from ORIGIN=, else $ORIGIN, else its SOA owner (repeatable)', collect, [])
    .requiredOption('-o, --output <IMAGE>', 'the image file to write')
    .option('--include-dotfiles', 'serve files and directories whose names start with a dot (.git, .env): off by default', false)
    .option('--follow-symlinks', 'serve what a symbolic link that leaves the site points to (as nginx does); without it such a link is an error', false)
    .option('--strict', 'make warnings errors (a dangling link, a file left out): for CI', false)
    .option('--brotli-quality <0-11>', 'brotli quality for every file (default: by type and size; 11 for assets up to 1 MiB)', intIn(0, 11))
    .option('--gzip-level <1-9>', 'gzip level', intIn(1, 9), 9)
    .option('--cache <DIR>', 'the build cache: what is derived from each file\'s bytes, reused by the next build (default: $XDG_CACHE_HOME/appliance or ~/.cache/appliance)')
    .option('--no-cache', 'neither read nor write the build cache')
    .option('--cache-max-size <SIZE>', 'the most the cache keeps, least recently used out first (1G, 500M)', parseSize, 1 << 30)
    .option('-j, --jobs <N>', 'compression threads (default: one per core)', intIn(1, 256))
    .option('-q, --quiet', 'print nothing but errors', false)
    .addHelpText('after', '\nThe same inputs give the same image, byte for byte. SOURCE_DATE_EPOCH (seconds since 1970) sets every\n' +
      'time the image records (its build time, the cap on Last-Modified); without it, the clock.\n' +
      '\nExample:\n  appliance build --site ./site --site docs.example.com=./docs --zone example.com=./example.com.zone -o site.apl')
    .action(async (o) => runBuild(o));

  program.command('inspect')
    .description('Print what an image holds: sites, routes, variants, zones, sizes, build options, content hash.')
    .argument('<IMAGE>', 'the image file')
    .option('--json', 'print JSON instead of text', false)
    .option('--all', 'list every route and name (default: the first 40 of each)', false)
    .action(async (image, o) => runInspect(image, o));

  program.command('serve')
    .description('Serve an image: through kernel sockets (--backend socket), or through AF_XDP with the fused stack (--backend xdp).')
    .argument('[IMAGE]', 'the image file (or image = "..." in the --config file); none needed with --secondary')
    .option('--config <FILE>', 'read options from a TOML file: a key per option, named as the option (rrl-rate = 200, http = ["127.0.0.1:8080", "[::1]:8080"]), and image; flags given here win')
    .addOption(new Option('--backend <KIND>', 'socket: node:net and node:dgram; xdp: one AF_XDP socket and worker per NIC queue').choices(['socket', 'xdp']).default('socket'))
    .option('--http <ADDR:PORT>', 'socket backend: where HTTP listens (repeatable, e.g. 127.0.0.1:8080 and [::1]:8080; default 127.0.0.1:8080)', collect, [])
    .option('--dns <ADDR:PORT>', 'socket backend: where DNS listens, UDP and TCP (repeatable; default 127.0.0.1:5353)', collect, [])
    .option('--workers <N>', 'socket backend: threads answering DNS over UDP, each with its own socket on the port (SO_REUSEPORT) and a batch of datagrams per system call; 0: node:dgram in the main thread (default: one per CPU)', intIn(0, 256))
    .option('--user <USER[:GROUP]>', 'socket backend: become this user once the ports are bound (start as root, or with CAP_SETUID and CAP_SETGID)')
    .option('--iface <IFACE>', 'xdp backend: the network interface')
    .option('--addr <IP>', 'xdp backend: an address the appliance owns, IPv4 or IPv6 (repeatable)', collect, [])
    .option('--queues <N>', 'xdp backend: how many NIC queues (and workers)', intIn(1, 64))
    .option('--cpus <LIST>', 'xdp backend: pin worker i to the i-th CPU of this comma-separated list (e.g. 0,1)')
    .option('--dns-port <N>', 'xdp backend: the port DNS is served on (UDP and TCP)', intIn(1, 65535), 53)
    .option('--http-port <N>', 'xdp backend: the TCP port HTTP is served on (when the image has sites)', intIn(1, 65535), 80)
    .addOption(new Option('--verify-checksums <MODE>', 'xdp backend: received UDP/TCP checksums. auto: verify, but accept the checksum-offload form a local peer sends (the field holds just the pseudo-header sum, as a veth or container peer does; counted); strict: verify every one; off: verify none').choices(['auto', 'strict', 'off']).default('auto'))
    .option('--netns <NAME>', 'xdp backend: open the interface in this network namespace')
    .option('--metrics <ADDR:PORT>', 'serve live counters in Prometheus text format at http://ADDR:PORT/metrics (both backends)')
    .option('--capture <PREFIX>', 'xdp backend: record frames in and out to PREFIX.q<QUEUE>.pcap (AF_XDP traffic is invisible to tcpdump)')
    .option('--capture-every <N>', 'xdp backend: record one batch in N (default: all)', intIn(1, 1 << 30), 1)
    .option('--capture-limit <N>', 'xdp backend: stop recording after N frames per queue', intIn(1, 1 << 30))
    .addOption(new Option('--fault <SPEC>', 'xdp backend, for tests: drop, duplicate, reorder and delay frames at seeded rates ("seed=7,drop=0.01,dup=0.01,reorder=0.05,delay=20,dir=both")').hideHelp())
    .option('--idle-timeout <SECONDS>', 'close idle keep-alive (HTTP) and DNS-over-TCP connections after this long; also a client that takes none of a response for this long', secondsIn(0.1, 3600), 60)
    .option('--header-timeout <SECONDS>', 'HTTP: a request head must be complete this long after its first byte (as nginx client_header_timeout)', secondsIn(0.1, 3600), 60)
    .option('--dns-message-timeout <SECONDS>', 'DNS over TCP: one message must be complete this long after its first byte', secondsIn(0.1, 3600), 10)
    .option('--max-connections <N>', 'connections at most, for each of HTTP and DNS over TCP; at the cap the one idle longest is closed to make room', intIn(1, 1_000_000), 10_000)
    .option('--max-connections-per-source <N>', 'connections at most from one IPv4 address or IPv6 /64, for each of HTTP and DNS over TCP (the same eviction)', intIn(1, 1_000_000), 256)
    .option('--rrl-rate <N>', `DNS response rate limiting (both backends, UDP only; NSD's rrl-ratelimit): answers per second per bucket (a client prefix, an answer class, a name); 0 turns it off (default: ${RRL_DEFAULTS.rate}, NSD's)`)
    .option('--rrl-slip <N>', `of the answers RRL limits, one in N at random goes out truncated (TC=1, so that a real client retries over TCP), the rest are dropped; 0: none, 1: all (default: ${RRL_DEFAULTS.slip}, NSD's rrl-slip)`)
    .option('--rrl-exempt <PREFIX>', 'a client prefix never rate-limited, IPv4 or IPv6, e.g. 198.18.0.0/15 or 2001:db8::/32 or one address (repeatable; as Knot\'s whitelist)', collect, [])
    .option('--rrl-ipv4-prefix <LEN>', `IPv4 clients in one prefix of this length share buckets (default: ${RRL_DEFAULTS.ipv4PrefixLen}, NSD's)`)
    .option('--rrl-ipv6-prefix <LEN>', `IPv6 clients in one prefix of this length share buckets, 0 to 64 (default: ${RRL_DEFAULTS.ipv6PrefixLen}, Knot's and BIND's; NSD's is 64)`)
    .option('--rrl-size <N>', `buckets in RRL's table, rounded up to a power of two, 32 bytes each (default: ${RRL_DEFAULTS.size}); the xdp backend has one table per worker`)
    .option('--access-log <FILE>', 'append a line per HTTP request answered to FILE (off by default; reopened on SIGUSR1)')
    .addOption(new Option('--access-log-format <FORM>', 'combined: nginx\'s default format; json: one object a line').choices(['combined', 'json']).default('combined'))
    .option('--query-log <FILE>', 'append a line per DNS query answered to FILE (off by default; reopened on SIGUSR1)')
    .addOption(new Option('--query-log-format <FORM>', 'text, or json').choices(['text', 'json']).default('text'))
    .option('--query-log-sample <RATE>', 'log this share of the queries, at random: 1 all, 0.01 one in a hundred', fraction, 1)
    .option('--identity <TEXT>', 'DNS: the answer to CH TXT id.server and hostname.bind (default: the host name, as NSD)')
    .option('--hide-identity', 'DNS: refuse CH TXT id.server and hostname.bind (NSD\'s hide-identity)')
    .option('--version-string <TEXT>', `DNS: the answer to CH TXT version.server and version.bind (default: "appliance ${toolVersion()}")`)
    .option('--hide-version', 'DNS: refuse CH TXT version.server and version.bind (NSD\'s hide-version)')
    .option('--secondary <ZONE=ADDR[:PORT][,key=NAME]>', 'DNS: serve ZONE as a secondary of the primary at ADDR (port 53 by default; ADDR@PORT too): transferred at start and on its SOA refresh or a NOTIFY from ADDR (IXFR, else AXFR), compiled and swapped in without loss; repeat a zone for more primaries; key=NAME signs with that --tsig-key', collect, [])
    .option('--tsig-key <NAME:ALGORITHM:BASE64>', 'DNS: a TSIG key for --secondary\'s transfers (RFC 8945; hmac-sha256, hmac-sha1, hmac-sha224, hmac-sha384 or hmac-sha512) (repeatable); better in the --config file, as a command line is visible to every user (ps). NOTIFY is taken by its source address, not by key', collect, [])
    .option('--state-dir <DIR>', 'DNS: where secondary zones are kept between restarts, and the image serve links them into (default: /var/lib/appliance as root, else ~/.local/state/appliance)')
    .addOption(new Option('--log-level <LEVEL>', 'log lines at this level and above (default: info, or APPLIANCE_LOG_LEVEL)').choices(LOG_LEVELS))
    .addOption(new Option('--log-format <FORM>', 'auto: readable text on a terminal, JSON lines otherwise').choices(['auto', 'json', 'text']).default('auto'))
    .addHelpText('after', '\nSignals: SIGHUP re-reads the image and swaps it in without dropping a query or a connection\n' +
      '(also: appliance reload ADDR:PORT, with --metrics); SIGUSR1 reopens the log files; SIGINT and SIGTERM stop.')
    .action(async (image: string | undefined, _o, cmd: Command) => {
      const { applyConfig, readConfig, configProblem, ConfigError } = await import('./commands/config.js');
      const o = cmd.opts();
      if (o.config === undefined) {
        if (image === undefined && (o.secondary as string[]).length === 0) throw new UsageError('serve needs an IMAGE, --secondary zones, or both (or --config FILE naming them)');
        return runServe(image, o as ServeOptions);
      }
      const cfg = readConfig(o.config as string, cmd);
      applyConfig(cfg, cmd);
      const file = image ?? cfg.image;
      if (file === undefined && ((cmd.opts() as ServeOptions).secondary ?? []).length === 0) throw new ConfigError(cfg.file, [{ line: 1, key: 'image', message: 'no image: give IMAGE on the command line or image = "PATH" in the file' }]);
      try {
        await runServe(file, cmd.opts() as ServeOptions);
      } catch (e) {
        // A bad value the file gave: said with the file's line.
        if (e instanceof UsageError) {
          const p = configProblem(cfg, e);
          if (p.key !== '' && cmd.getOptionValueSource(camel(p.key)) === 'config') throw new ConfigError(cfg.file, [p]);
        }
        throw e;
      }
    });

  program.command('check-config')
    .description('Check a serve config file (TOML) as serve would read it: every key and value, the image it names (read and verified), the log files, the user; prints what it would serve, or every problem with its line.')
    .argument('<FILE>', 'the config file')
    .action(async (file: string) => {
      const { readConfig, applyConfig, configProblem, ConfigError } = await import('./commands/config.js');
      type ConfigProblem = import('./commands/config.js').ConfigProblem;
      const { checkServeOptions } = await import('./commands/serve.js');
      const serve = makeProgram().commands.find((c) => c.name() === 'serve')!;
      const found: ConfigProblem[] = [];
      const cfg = readConfig(file, serve, found);
      applyConfig(cfg, serve);
      const { problems, image } = checkServeOptions(cfg.image, serve.opts() as ServeOptions);
      found.push(...problems.map(({ key, error }) => {
        if (key === '') return configProblem(cfg, error);
        const line = key === 'image' ? lineOfKey(file, 'image') : cfg.lines.get(camel(key)) ?? 1;
        return { line, key, message: error.message };
      }));
      if (found.length > 0) throw new ConfigError(file, found.sort((a, b) => a.line - b.line));
      const o = serve.opts() as ServeOptions;
      const lines = [`${file}: ok`, `  backend ${o.backend}`];
      if (image) {
        lines.push(`  image ${cfg.image} (sha256 ${image.sha256.slice(0, 16)}…, ${image.sites} site${image.sites === 1 ? '' : 's'}, ${image.zones.length} zone${image.zones.length === 1 ? '' : 's'})`);
        for (const z of image.zones) lines.push(`    zone ${z.origin} serial ${z.serial}`);
      } else {
        lines.push('  no image: secondary zones only');
      }
      for (const [attr] of cfg.values) {
        // A TSIG key's secret is not printed: its name and algorithm say which it is.
        const v = attr === 'tsigKey' ? (serve.getOptionValue(attr) as string[]).map((k) => k.replace(/:[^:]*$/, ':…')) : serve.getOptionValue(attr);
        lines.push(`  ${cfg.flags.get(attr)!.slice(2)} = ${JSON.stringify(v)}`);
      }
      process.stdout.write(lines.join('\n') + '\n');
    });

  program.command('reload')
    .description('Have a running server (started with --metrics ADDR:PORT) re-read its image and swap it in, as SIGHUP does; prints what it serves then.')
    .argument('<ADDR:PORT>', 'the --metrics address of the server')
    .action(async (addr) => {
      const { runReload } = await import('./commands/stats.js');
      await runReload(addr);
    });

  program.command('stats')
    .description('Print the live counters of a running server (started with --metrics), and the image it serves.')
    .argument('<ADDR:PORT>', 'the --metrics address of the server')
    .option('--json', 'print JSON', false)
    .action(async (addr, o) => {
      const { runStats } = await import('./commands/stats.js');
      await runStats(addr, o);
    });

  const bench = program.command('bench')
    .description('Measure the appliance against nginx, NSD and Knot DNS, side by side in one run, and print the figures.');
  bench.command('dns')
    .description('DNS over the fused datapath: the appliance against NSD, Knot DNS (XDP) and the bare JS reflector, with kxdpgun, in network namespaces (root). --names N: on a generated zone of N names, and the appliance on the small zone too. --transport tcp: DNS over TCP against NSD and Knot, a connection per query (kxdpgun -T) and connections reused (dnsperf -m tcp).')
    .option('--transport <T>', 'udp, or tcp', 'udp')
    .option('--seconds <N>', 'length of each run', intIn(1, 60), 5)
    .option('--rounds <N>', 'rounds, every server once per round, back to back', intIn(1, 20), 3)
    .option('--qps <N>', 'queries per second kxdpgun is asked for (default 2,000,000 over UDP, 100,000 over TCP)', intIn(1000, 100_000_000))
    .option('--servers <LIST>', 'which servers, in order: appliance (RRL off), appliance-rrl (RRL on at a rate that never limits), appliance-rrl-exempt (RRL defaults, the generator exempt), knot, nsd, reflector; with --names also appliance-small, knot-small, nsd-small (on the small zone; appliance-small is in the default list) (over TCP: appliance, knot, nsd)')
    .option('--names <N>', 'UDP: serve a zone of N names made by scripts/gen-zone.mjs, and a 100,000-line query file drawn from it, instead of the small zone', intIn(1000, 10_000_000))
    .option('--seed <N>', 'with --names: the seed of the zone and of the query file', intIn(0, 1 << 30), 1)
    .option('--signed', 'UDP, small zone: every server serves the zone signed (NSEC3, ldns-signzone), and a third of the mix asks for DNSSEC (DO), half of that NXDOMAIN with its NSEC3 proof; prints the responder\'s cost per answer of each kind too')
    .option('--queues <N>', 'NIC queues of the veth pair and appliance workers (UDP)', intIn(1, 2), 1)
    .option('--connections <N>', 'TCP with reuse: dnsperf\'s connections (-c)', intIn(1, 1000), 8)
    .option('--outstanding <N>', 'TCP with reuse: dnsperf\'s queries in flight (-q)', intIn(1, 100000), 256)
    .option('--server-cpu <N>', 'CPU the server is pinned to', intIn(0, 1023), 0)
    .option('--load-cpu <N>', 'CPU the generator is pinned to', intIn(0, 1023), 1)
    .option('--profile <DIR>', 'write a CPU profile of the appliance (UDP: its first round; TCP: an extra run with a connection per query) to DIR and print where the time goes')
    .option('--json <FILE>', 'also write the figures (every round) to FILE, as bench report reads them')
    .action(async (o) => {
      const { workerScript } = await import('./worker/supervisor.js');
      const log = (l: string): void => { process.stdout.write(l + '\n'); };
      const split = (v: string): string[] => v.split(',').map((x) => x.trim());
      if (o.transport === 'tcp') {
        if (o.names !== undefined) throw new UsageError('--names: over UDP only (the TCP bench serves the small zone)');
        if (o.signed) throw new UsageError('--signed: over UDP only');
        const { runDnsTcpBench, DNS_TCP_SERVERS } = await import('./bench/dns-tcp.js');
        const servers = split(String(o.servers ?? DNS_TCP_SERVERS.join(','))) as Array<typeof DNS_TCP_SERVERS[number]>;
        for (const s of servers) if (!DNS_TCP_SERVERS.includes(s)) throw new UsageError(`--servers: over TCP, one of ${DNS_TCP_SERVERS.join(', ')} (not ${s})`);
        const r = await runDnsTcpBench({
          rounds: o.rounds, seconds: o.seconds, qps: o.qps ?? 100_000, servers, serverCpu: o.serverCpu, loadCpu: o.loadCpu,
          connections: o.connections, outstanding: o.outstanding, cli: process.argv[1]!, profileDir: o.profile, log,
        });
        if (o.json) {
          const { dnsTcpFigures } = await import('./bench/report/convert.js');
          const { writeFigures } = await import('./bench/report/results.js');
          writeFigures(o.json, dnsTcpFigures(r, { serverCpu: o.serverCpu, loadCpu: o.loadCpu, seconds: o.seconds, command: commandLine() }));
        }
        if (r.wrong > 0 || r.failures.length > 0) process.exitCode = 1;
        return;
      }
      if (o.transport !== 'udp') throw new UsageError(`--transport: udp or tcp, not ${o.transport}`);
      if (o.signed && o.names !== undefined) throw new UsageError('--signed: on the small zone only (not with --names)');
      const { runDnsBench, DNS_BENCH_SERVERS, SMALL_ZONE_SERVERS, defaultDnsBenchServers } = await import('./bench/dns-xdp.js');
      const names = o.names as number | undefined;
      const known = names === undefined ? DNS_BENCH_SERVERS : [...DNS_BENCH_SERVERS, ...SMALL_ZONE_SERVERS];
      const servers = (o.servers === undefined ? defaultDnsBenchServers(names) : split(String(o.servers))) as Array<typeof known[number]>;
      for (const s of servers) {
        if ((SMALL_ZONE_SERVERS as readonly string[]).includes(s) && names === undefined) throw new UsageError(`--servers: ${s} only with --names (without it every row serves the small zone)`);
        if (!known.includes(s)) throw new UsageError(`--servers: unknown server ${s} (one of ${known.join(', ')})`);
      }
      const r = await runDnsBench({
        rounds: o.rounds, seconds: o.seconds, qps: o.qps ?? 2_000_000, serverCpu: o.serverCpu, loadCpu: o.loadCpu, servers, queues: o.queues,
        cli: process.argv[1]!, workerScript: workerScript(), profileDir: o.profile, names, seed: o.seed, signed: o.signed === true, log,
      });
      if (o.json) {
        const { dnsUdpFigures } = await import('./bench/report/convert.js');
        const { writeFigures } = await import('./bench/report/results.js');
        writeFigures(o.json, dnsUdpFigures(r, { serverCpu: o.serverCpu, loadCpu: o.loadCpu, seconds: o.seconds, qps: o.qps ?? 2_000_000, command: commandLine() }));
      }
      if (r.wrong > 0) process.exitCode = 1;
    });

  bench.command('reflector')
    .description('The bare JS reflector over netmap-binding (the ceiling of the AF_XDP path) against Knot DNS (XDP) and NSD, with kxdpgun (root).')
    .option('--seconds <N>', 'length of each kxdpgun run', intIn(1, 30), 3)
    .option('--rounds <N>', 'rounds, every server once per round', intIn(1, 20), 3)
    .option('--servers <LIST>', 'which servers, in order: reflector,knot,nsd', 'reflector,knot,nsd')
    .option('--json <FILE>', 'also write the figures (every round) to FILE, as bench report reads them')
    .action(async (o) => {
      const { runReflectorBench, formatReflectorBench } = await import('./bench/reflector-bench.js');
      const { workerScript } = await import('./worker/supervisor.js');
      const { pathToFileURL } = await import('node:url');
      const r = await runReflectorBench({
        rounds: o.rounds, duration: o.seconds, servers: String(o.servers).split(',') as Array<'reflector' | 'knot' | 'nsd'>,
        workerUrl: pathToFileURL(workerScript()), log: (l: string) => process.stdout.write(l + '\n'),
      });
      process.stdout.write(formatReflectorBench(r) + '\n');
      if (o.json) {
        const { reflectorFigures } = await import('./bench/report/convert.js');
        const { writeFigures } = await import('./bench/report/results.js');
        writeFigures(o.json, reflectorFigures(r, 0));
      }
    });

  bench.command('http')
    .description('HTTP: the fused path (AF_XDP) and the socket backend against nginx (1 worker), with wrk, in network namespaces (root).')
    .option('--seconds <N>', 'length of each wrk run', intIn(3, 120), 5)
    .option('--rounds <N>', 'rounds, every server once per round, back to back (the order turns each round)', intIn(1, 20), 3)
    .option('--connections <N>', 'wrk connections', intIn(1, 10000), 50)
    .option('--servers <LIST>', 'which servers: nginx, socket (the socket backend), fused (AF_XDP)', 'nginx,socket,fused')
    .option('--loads <LIST>', 'which loads: ka-1k, close-1k (a new connection per request), ka-16k, ka-256k, ka-1m, pipe-1k (16 pipelined)',
      'ka-1k,close-1k,ka-16k,ka-256k,ka-1m,pipe-1k')
    .option('--server-cpu <N>', 'CPU the server is pinned to', intIn(0, 1023), 0)
    .option('--load-cpu <N>', 'CPU wrk is pinned to', intIn(0, 1023), 1)
    .option('--profile <DIR>', 'after the rounds, profile the fused worker under the first of --loads (1 KiB keep-alive by default), write the profile to DIR and print where the time goes')
    .option('--json <FILE>', 'also write the figures (every round) to FILE, as bench report reads them')
    .action(async (o) => {
      const { runHttpBench, HTTP_BENCH_SERVERS, HTTP_BENCH_LOADS } = await import('./bench/http-xdp.js');
      const list = <T extends string>(v: string, all: readonly T[], flag: string): T[] => v.split(',').map((x) => x.trim()).map((x) => {
        if (!all.includes(x as T)) throw new UsageError(`${flag}: unknown ${x} (one of ${all.join(', ')})`);
        return x as T;
      });
      const r = await runHttpBench({
        rounds: o.rounds, seconds: o.seconds, connections: o.connections, serverCpu: o.serverCpu, loadCpu: o.loadCpu,
        servers: list(String(o.servers), HTTP_BENCH_SERVERS, '--servers'), loads: list(String(o.loads), HTTP_BENCH_LOADS, '--loads'),
        cli: process.argv[1]!, profileDir: o.profile, log: (l: string) => process.stdout.write(l + '\n'),
      });
      if (o.json) {
        const { httpFigures } = await import('./bench/report/convert.js');
        const { writeFigures } = await import('./bench/report/results.js');
        writeFigures(o.json, httpFigures(r, { serverCpu: o.serverCpu, loadCpu: o.loadCpu, seconds: o.seconds, connections: o.connections, command: commandLine() }));
      }
      if (r.failures.length > 0) process.exitCode = 1;
    });

  bench.command('http-socket')
    .description('HTTP over kernel sockets: the socket backend against nginx (1 worker) on loopback, with wrk.')
    .option('--seconds <N>', 'length of each wrk run', intIn(1, 120), 10)
    .option('--rounds <N>', 'rounds, each server once per round, back to back', intIn(1, 20), 3)
    .option('--connections <N>', 'wrk connections (keep-alive)', intIn(1, 10000), 50)
    .option('--file-bytes <N>', 'size of the file requested', intIn(1, 100 << 20), 1024)
    .option('--server-cpu <N>', 'CPU the server is pinned to', intIn(0, 1023), 0)
    .option('--client-cpu <N>', 'CPU wrk is pinned to', intIn(0, 1023), 1)
    .option('--json <FILE>', 'also write the figures (every round) to FILE, as bench report reads them')
    .action(async (o) => {
      const { runHttpSocketBench } = await import('./bench/http-socket.js');
      const r = await runHttpSocketBench({ ...o, cli: process.argv[1]!, log: (l: string) => process.stdout.write(l + '\n') });
      if (o.json) {
        const { httpSocketFigures } = await import('./bench/report/convert.js');
        const { writeFigures } = await import('./bench/report/results.js');
        writeFigures(o.json, httpSocketFigures(r, { serverCpu: o.serverCpu, loadCpu: o.clientCpu, seconds: o.seconds, connections: o.connections, fileBytes: o.fileBytes, command: commandLine() }));
      }
    });

  bench.command('dns-socket')
    .description('DNS over kernel sockets: the socket backend against NSD (1 server process) on loopback, with dnsperf.')
    .option('--seconds <N>', 'length of each dnsperf run', intIn(1, 120), 10)
    .option('--rounds <N>', 'rounds, each server once per round, back to back', intIn(1, 20), 3)
    .option('--outstanding <N>', 'dnsperf: queries in flight at most (-q)', intIn(1, 100000), 200)
    .option('--clients <N>', 'dnsperf: client sockets (-c)', intIn(1, 1000), 4)
    .option('--no-edns', 'queries without EDNS (default: EDNS on every query)')
    .option('--server-cpu <N>', 'CPU the server is pinned to', intIn(0, 1023), 0)
    .option('--client-cpu <N>', 'CPU dnsperf is pinned to', intIn(0, 1023), 1)
    .option('--workers <LIST>', 'the appliance once per entry, with serve --workers N (0: node:dgram); more than 1: not pinned', '1')
    .option('--json <FILE>', 'also write the figures (every round) to FILE, as bench report reads them')
    .action(async (o) => {
      const { runDnsSocketBench } = await import('./bench/dns-socket.js');
      const workers = String(o.workers).split(',').map((w) => {
        const n = Number(w.trim());
        if (!Number.isInteger(n) || n < 0 || n > 64) throw new UsageError(`--workers: ${w} is not a number of workers`);
        return n;
      });
      const r = await runDnsSocketBench({ ...o, workers, cli: process.argv[1]!, log: (l: string) => process.stdout.write(l + '\n') });
      if (o.json) {
        const { dnsSocketFigures } = await import('./bench/report/convert.js');
        const { writeFigures } = await import('./bench/report/results.js');
        writeFigures(o.json, dnsSocketFigures(r, { serverCpu: o.serverCpu, loadCpu: o.clientCpu, seconds: o.seconds, command: commandLine() }));
      }
      if (r.mismatches.length > 0) process.exitCode = 1;
    });

  bench.command('zone-build')
    .description('Building a big generated zone (scripts/gen-zone.mjs) with appliance build against nsd-checkzone, each under GNU time: wall time and peak memory.')
    .option('--names <N>', 'names in the zone', intIn(1000, 100_000_000), 1_000_000)
    .option('--seed <N>', 'the generator\'s seed', intIn(0, 1 << 30), 1)
    .option('--runs <N>', 'runs of each tool, alternating', intIn(1, 20), 3)
    .option('--cpu <N>', 'pin both to this CPU (default: not pinned)', intIn(0, 1023))
    .option('--dir <DIR>', 'where the zone (kept, reused) and the image go', '.tmp/zone-bench')
    .option('--json <FILE>', 'also write the figures to FILE, as bench report reads them')
    .action(async (o) => {
      const { runZoneBuildBench } = await import('./bench/zone-build.js');
      const f = runZoneBuildBench({ names: o.names, seed: o.seed, runs: o.runs, cpu: o.cpu ?? -1, dir: o.dir, cli: process.argv[1]!, log: (l: string) => process.stdout.write(l + '\n') });
      if (o.json) {
        const { writeFigures } = await import('./bench/report/results.js');
        writeFigures(o.json, f);
      }
    });

  bench.command('secondary')
    .description('Secondary zones on loopback: a generated zone transferred from NSD (whole zone, AXFR) and from Knot DNS (one record, IXFR) after NOTIFY; the time from each change to its serial served, the transfer and the compile inside serve.')
    .option('--names <N>', 'names in the zone', intIn(100, 10_000_000), 100_000)
    .option('--seed <N>', 'the generator\'s seed', intIn(0, 1 << 30), 1)
    .option('--rounds <N>', 'changes per primary', intIn(1, 50), 3)
    .option('--dir <DIR>', 'where the zone (kept, reused), the primaries and the state go', '.tmp/secondary-bench')
    .option('--json <FILE>', 'also write the figures to FILE')
    .action(async (o) => {
      const { runSecondaryBench } = await import('./bench/secondary.js');
      const f = await runSecondaryBench({ names: o.names, seed: o.seed, rounds: o.rounds, dir: o.dir, cli: process.argv[1]!, log: (l: string) => process.stdout.write(l + '\n') });
      if (o.json) (await import('node:fs')).writeFileSync(o.json, JSON.stringify({ kind: 'secondary', command: process.argv.slice(2).join(' '), ...f }, null, 2) + '\n');
    });

  bench.command('report')
    .description('Run the benches that apply on this machine (DNS fused, socket and TCP, the reflector, HTTP fused and socket by file size and connection mode, the build of a big zone) and draw their figures as charts: DIR/results.json, one SVG per chart, and DIR/index.html, one page that opens offline.')
    .requiredOption('-o, --output <DIR>', 'where results.json, the SVGs and index.html go')
    .option('--quick', 'short runs, one round each (about 6 minutes as root)')
    .option('--full', 'the benches\' own lengths, three rounds (the default; about 25 minutes as root)')
    .option('--from <FILE...>', 'draw from saved results (bench report\'s results.json, or benches\' --json files) instead of running the benches')
    .option('--server-cpu <N>', 'CPU the servers are pinned to', intIn(0, 1023), 0)
    .option('--load-cpu <N>', 'CPU the generators are pinned to', intIn(0, 1023), 1)
    .action(async (o) => {
      const { renderReport } = await import('./bench/report/render.js');
      const { mergeResults, newResults, readResults, writeResults } = await import('./bench/report/results.js');
      const { mkdirSync } = await import('node:fs');
      const { join } = await import('node:path');
      if (o.quick && o.full) throw new UsageError('--quick or --full, not both');
      mkdirSync(o.output, { recursive: true });
      let results;
      if (o.from) {
        const files = o.from as string[];
        results = files.length === 1 ? readResults(files[0]!) : newResults('single');
        if (files.length > 1) for (const f of files) mergeResults(results, readResults(f));
        writeResults(join(o.output, 'results.json'), results);
      } else {
        const { runReport } = await import('./bench/report/run.js');
        const { workerScript } = await import('./worker/supervisor.js');
        results = await runReport({
          dir: o.output, mode: o.quick ? 'quick' : 'full', cli: process.argv[1]!, workerScript: workerScript(), serverCpu: o.serverCpu, loadCpu: o.loadCpu,
          log: (l: string) => process.stdout.write(l + '\n'),
        });
      }
      const files = await renderReport(results, o.output);
      process.stdout.write(`${files.length - 1} charts; open ${join(o.output, 'index.html')}\n`);
    });

  return program;
}

/** The command line as typed (for the figures' record of how they were measured). */
function commandLine(): string {
  return ['appliance', ...process.argv.slice(2)].join(' ');
}

export async function main(argv: string[]): Promise<void> {
  const program = makeProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed the message (or the help / version).
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    if (isApplianceError(e)) {
      process.stderr.write(`appliance: ${e.code}: ${e.message}\n`);
      process.exitCode = e.code === 'APPL_ERR_USAGE' ? 2 : 1;
      return;
    }
    throw e;
  }
}

await main(process.argv);
