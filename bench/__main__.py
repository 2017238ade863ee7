"""Run every benchmark in turn (one full run for BENCHMARKS.md): python -m bench"""

from __future__ import annotations

import asyncio

from bench import alert_latency, logs_load, status_latency, storm


async def main() -> None:
    for bench in (status_latency, alert_latency, storm, logs_load):
        print(f"== {bench.__name__}", flush=True)
        await bench.main()


if __name__ == "__main__":
    asyncio.run(main())
