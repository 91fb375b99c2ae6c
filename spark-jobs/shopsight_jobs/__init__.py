"""ShopSight's shared code for the PySpark jobs on EMR Serverless.

Shipped to every job as ``shopsight_jobs.zip`` with ``--py-files`` (built by
``scripts/build-spark-archive.py``). Python 3.9 and the standard library only at module level:
pyspark is imported by the jobs, never here, so the package also loads without Spark (tests,
tooling).

- ``contract``: the table contract (generated ``contract.json``) and the output schema check.
- ``layout``: where a run's data lives in S3, from the same ``contract.json``.
- ``sql``: the shared .sql files (bundled inside the package) with their ``{{placeholder}}`` rule.
- ``args``, ``runtime``: job arguments, pipeline parameters, exit codes.
- ``lines``, ``readers``, ``prepare``: raw files to the canonical events and rejects, the schemas and insights (prepare).
- ``outputs``, ``summary``: contract-checked writes per run id, serving CSVs, manifests, run summary.
- ``association_rules``, ``recommendations``, ``purchase_intent``, ``segments``, ``spend_forecast``: the five
  analytics jobs' logic, one module per stage, named as the stage (``metrics``: their model_metrics rows).
"""
