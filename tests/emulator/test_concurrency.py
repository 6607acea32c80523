"""Several clients at once (the sync runs several worker processes against one emulator)."""

from concurrent.futures import ThreadPoolExecutor


def test_it_serialises_concurrent_writes_and_counts_every_call(sf_emulator):
    token = sf_emulator.tokens()["access_token"]

    def worker(n):
        sf = sf_emulator.salesforce(token)  # each worker has its own connection pool
        for i in range(15):
            sf.Task.create({"Subject": f"w{n}-{i}"})
        return sf.query("SELECT COUNT() FROM Task")["totalSize"]

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))
    assert len(sf_emulator.tasks()) == 120
    assert sf_emulator.api_usage()["used"] == 128
    assert sf_emulator.api_calls() == {"sobjects/Task POST": 120, "query": 8}
