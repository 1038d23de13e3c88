#!/usr/bin/env python3
# Sends one UDP datagram with a source port of our choosing (0 included) through a raw
# socket: what an attacker who spoofs the source can put on the wire. Loopback only.
#   raw-udp.py 4|6 SPORT DPORT HEXPAYLOAD [COUNT]
import socket
import struct
import sys


def checksum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def main():
    fam, sport, dport, payload = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), bytes.fromhex(sys.argv[4])
    count = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    length = 8 + len(payload)
    if fam == '4':
        addr = '127.0.0.1'
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
        pseudo = socket.inet_pton(socket.AF_INET, addr) * 2 + struct.pack('!BBH', 0, 17, length)
    else:
        addr = '::1'
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_UDP)
        pseudo = socket.inet_pton(socket.AF_INET6, addr) * 2 + struct.pack('!IxxxB', length, 17)
    header = struct.pack('!HHHH', sport, dport, length, 0)
    c = checksum(pseudo + header + payload) or 0xffff
    datagram = struct.pack('!HHHH', sport, dport, length, c) + payload
    for _ in range(min(count, 10000)):
        s.sendto(datagram, (addr, 0))
    s.close()


main()
