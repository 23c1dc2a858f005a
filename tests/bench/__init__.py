"""The benchmarks' harnesses run as tests (bench/): search relevance against its baseline."""
