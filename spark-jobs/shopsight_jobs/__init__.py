"""ShopSight's shared code for the PySpark jobs on EMR Serverless.

Shipped to every job as ``shopsight_jobs.zip`` with ``--py-files`` (built by
``scripts/build-spark-archive.py``). Python 3.9 and the standard library only at module level:
pyspark is imported by the jobs, never here, so the package also loads without Spark (tests,
tooling).

- ``contract``: the table contract (generated ``contract.json``) and the output schema check.
- ``layout``: where a run's data lives in S3, from the same ``contract.json``.
- ``sql``: the shared .sql files (bundled inside the package) with their ``{{placeholder}}`` rule.
- ``args``, ``runtime``: job arguments, pipeline parameters, exit codes.
- ``lines``, ``readers``, ``preparation``: raw files to the canonical events and rejects (prepare).
- ``outputs``, ``summary``: contract-checked writes per run id, serving CSVs, manifests, run summary.
- ``rules``, ``recs``, ``metrics``, ``intent``, ``segmentation``: the four analytics jobs' logic.
"""
