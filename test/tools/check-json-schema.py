#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""check-json-schema.py - validate bindguard-status --json output against
docs/bindguard-status.schema.json (JSON Schema draft 2020-12), with
Debian's python3-jsonschema (bookworm: 4.10).

Usage: check-json-schema.py [--schema SCHEMA] [FILE...]
       bindguard-status --json | check-json-schema.py

Each FILE ("-" or none: stdin) must be strict UTF-8 and one JSON document
(RFC 8259: no NaN or Infinity, no duplicate keys) that the schema accepts.
Prints "ok FILE" per valid document, or one line per error: "FILE: PATH:
MESSAGE" (PATH as /groups/0/pid). Exit status 0 if every document is valid,
1 if one is not, 2 on a usage error or a missing schema or python3-jsonschema.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, '..', '..', 'docs', 'bindguard-status.schema.json')


def strict_pairs(pairs):
    keys = [k for k, _ in pairs]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise ValueError('duplicate key(s): %s' % ', '.join(sorted(dup)))
    return dict(pairs)


def no_constant(name):
    raise ValueError('not JSON: %s' % name)


def main(argv):
    schema_path = DEFAULT
    files = []
    it = iter(argv)
    for a in it:
        if a == '--schema':
            schema_path = next(it, None)
            if schema_path is None:
                print(__doc__.split('\n\n')[1], file=sys.stderr)
                return 2
        elif a in ('-h', '--help'):
            print(__doc__.split('\n\n')[1], file=sys.stderr)
            return 2
        else:
            files.append(a)
    try:
        import jsonschema
    except ImportError:
        print('check-json-schema: python3-jsonschema is not installed (apt-get install python3-jsonschema)',
              file=sys.stderr)
        return 2
    try:
        with open(schema_path, encoding='utf-8') as f:
            schema = json.load(f)
    except (OSError, ValueError) as e:
        print('check-json-schema: %s: %s' % (schema_path, e), file=sys.stderr)
        return 2
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    bad = 0
    for name in files or ['-']:
        try:
            if name == '-':
                raw = sys.stdin.buffer.read()
            else:
                with open(name, 'rb') as f:
                    raw = f.read()
            doc = json.loads(raw.decode('utf-8'), object_pairs_hook=strict_pairs, parse_constant=no_constant)
        except (OSError, ValueError) as e:
            print('%s: %s' % (name, e))
            bad = 1
            continue
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        for e in errors:
            path = '/' + '/'.join(str(p) for p in e.absolute_path)
            print('%s: %s: %s' % (name, path, e.message))
        if errors:
            bad = 1
        else:
            print('ok %s' % name)
    return bad


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
