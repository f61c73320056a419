import atexit, gc, sys, threading

def _report():
    gc.collect()
    found = [o for o in gc.get_objects() if "duckdb" in str(getattr(type(o), "__module__", ""))]
    conns = [o for o in found if "Connection" in type(o).__name__]
    print(f"LEAKCHECK: {len(found)} duckdb objects, {len(conns)} connections; threads: "
          f"{[t.name + ('(d)' if t.daemon else '') for t in threading.enumerate()]}", file=sys.stderr)
    for c in conns[:5]:
        for r in gc.get_referrers(c)[:4]:
            print("   referrer:", type(r), str(r)[:200], file=sys.stderr)

def pytest_unconfigure(config):
    atexit.register(_report)
