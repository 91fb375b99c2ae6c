"""ShopSight Spark job prepare (EMR Serverless entry point): Parse, type and deduplicate the raw input; rejects; curated events; the seven schemas and insights.

    spark-submit --py-files shopsight_jobs.zip prepare.py \
      --run-id <id> --dataset rees46|retailrocket --input <raw prefix> \
      --curated <curated root> --exports <export root> --params '<PipelineParameters JSON>'

The work is in shopsight_jobs/prepare.py; exit codes in shopsight_jobs/args.py.
"""

from shopsight_jobs import prepare, runtime

if __name__ == "__main__":
    runtime.main("prepare", prepare.run)
