#!/usr/bin/env python3
"""Reference decoding of TraceLogging events, used by tests/unit/test_tracelogging.c.

Walks an .etl file with the record walker and the metadata parser of the
research checker (shared/tools/tlcheck.py, passed as the first argument's
directory) and decodes every payload value independently of the C decoder.
Prints one line per TraceLogging event, in file order:

    EventName: field=value;array=[v,v];struct={a=v;b=v}

Values are rendered so that both sides can produce them exactly: integers
as the unsigned decimal of their bits, floats and every byte-oriented value
(strings without their terminator, GUIDs, SYSTEMTIME, SIDs, binary) as
lowercase hex of the recorded bytes.  A line 'ERROR <name>: <why>' marks an
event the reference could not decode.
"""
import os
import struct
import sys

FIXED = {3: 1, 4: 1, 5: 2, 6: 2, 7: 4, 8: 4, 9: 8, 10: 8, 13: 4, 17: 8, 20: 4, 21: 8}


def value(t, d, o, ptr):
    """Decode one value of in-type t at offset o; returns (text, new offset)."""
    if t in FIXED:
        n = FIXED[t]
        if o + n > len(d):
            raise ValueError('short payload')
        return str(int.from_bytes(d[o:o + n], 'little')), o + n
    if t == 16:
        return str(int.from_bytes(d[o:o + ptr], 'little')), o + ptr
    if t in (11, 12):
        n = 4 if t == 11 else 8
        return d[o:o + n].hex(), o + n
    if t in (15, 18):
        return d[o:o + 16].hex(), o + 16
    if t == 1:
        e = o
        while e + 1 < len(d) and d[e:e + 2] != b'\0\0':
            e += 2
        if e + 1 >= len(d):
            return d[o:o + ((len(d) - o) & ~1)].hex(), len(d)
        return d[o:e].hex(), e + 2
    if t == 2:
        e = d.find(b'\0', o)
        if e < 0:
            return d[o:].hex(), len(d)
        return d[o:e].hex(), e + 1
    if t in (14, 22, 23, 25):
        n = struct.unpack_from('<H', d, o)[0]
        if o + 2 + n > len(d):
            raise ValueError('short payload')
        return d[o + 2:o + 2 + n].hex(), o + 2 + n
    if t == 19:
        n = 8 + 4 * d[o + 1]
        return d[o:o + n].hex(), o + n
    raise ValueError('intype %d' % t)


def skip(fields, i):
    f = fields[i]
    if f['intype'] == 24:
        j = i + 1
        for _ in range(f['outtype']):
            j = skip(fields, j)
        return j
    return i + 1


def field(fields, i, d, o, ptr):
    """Render field i; returns (text, next field index, new offset)."""
    f = fields[i]
    name = f['name']
    if f['arity'] == 0x60:
        n = struct.unpack_from('<H', d, o)[0]
        return '%s=%s' % (name, d[o + 2:o + 2 + n].hex()), i + 1, o + 2 + n
    if f['arity'] == 0x40:
        n = struct.unpack_from('<H', d, o)[0]
        o += 2
    elif f['arity'] == 0x20:
        n = f['ccount']
    else:
        n = None
    items = []
    if f['intype'] == 24:
        end = skip(fields, i)
        for _ in range(1 if n is None else n):
            k = i + 1
            parts = []
            for _ in range(f['outtype']):
                txt, k, o = field(fields, k, d, o, ptr)
                parts.append(txt)
            items.append('{' + ';'.join(parts) + '}')
        nxt = end
    else:
        for _ in range(1 if n is None else n):
            txt, o = value(f['intype'], d, o, ptr)
            items.append(txt)
        nxt = i + 1
    if n is None:
        return '%s=%s' % (name, items[0]), nxt, o
    return '%s=[%s]' % (name, ','.join(items)), nxt, o


def main():
    tools = sys.argv[1]
    sys.path.insert(0, tools)
    from tlcheck import records, parse_meta  # noqa: E402
    for ht, rec in records(sys.argv[2]):
        if ht not in (0x12, 0x13):
            continue
        flags = struct.unpack_from('<H', rec, 4)[0]
        if not flags & 1:
            continue
        q = 0x50
        meta = None
        while True:
            r1, et, link, ds = struct.unpack_from('<HHHH', rec, q)
            if et == 11:
                meta = rec[q + 8:q + 8 + ds]
            q += (r1 + 7) & ~7
            if not link & 1:
                break
        if meta is None:
            continue
        payload = rec[q:]
        ptr = 4 if ht == 0x12 else 8
        name, fields = parse_meta(meta)
        try:
            parts, i, o = [], 0, 0
            while i < len(fields):
                txt, i, o = field(fields, i, payload, o, ptr)
                parts.append(txt)
            if o != len(payload):
                raise ValueError('%d of %d bytes consumed' % (o, len(payload)))
            print('%s: %s' % (name, ';'.join(parts)))
        except Exception as e:  # noqa: BLE001
            print('ERROR %s: %s' % (name, e))


if __name__ == '__main__':
    main()
