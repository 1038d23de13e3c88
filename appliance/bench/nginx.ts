// nginx as a benchmark subject and as the tests' reference: one config writer for both.
// One worker, access_log off, sendfile on, keep-alive requests without limit, the site's
// own 404 page, dotfiles not served (as the appliance by default), relative redirects.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface NginxOptions {
  /** Where nginx keeps its pid, log and temp directories. */
  dir: string;
  /** listen directives' addresses with ports ("127.0.0.1:8080", "[2001:db8::1]:80"). */
  listen: string[];
  /** The site's root directory. */
  root: string;
  /** worker_connections (default 4096). */
  connections?: number;
}

/** Writes nginx.conf into o.dir and returns its path; start it with `nginx -c PATH -g 'daemon off;'`. */
export function writeNginxConfig(o: NginxOptions): string {
  const conf = join(o.dir, 'nginx.conf');
  writeFileSync(conf, `user root;
worker_processes 1;
pid ${o.dir}/nginx.pid;
error_log ${o.dir}/error.log;
events { worker_connections ${o.connections ?? 4096}; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 10000000;
  absolute_redirect off;
  client_body_temp_path ${o.dir}/body;
  proxy_temp_path ${o.dir}/proxy;
  fastcgi_temp_path ${o.dir}/fastcgi;
  uwsgi_temp_path ${o.dir}/uwsgi;
  scgi_temp_path ${o.dir}/scgi;
  server {
${o.listen.map((l) => `    listen ${l};`).join('\n')}
    root ${o.root};
    error_page 404 /404.html;
    location ~ /\\. { return 404; }
  }
}
`);
  return conf;
}
