"""ShopSight Spark job segments (EMR Serverless entry point): RFM and funnel features per customer; k-means; named segments and their profiles.

    spark-submit --py-files shopsight_jobs.zip segments.py \
      --run-id <id> --dataset rees46|retailrocket --input <raw prefix> \
      --curated <curated root> --exports <export root> --params '<PipelineParameters JSON>'

The work is in shopsight_jobs/segments.py; exit codes in shopsight_jobs/args.py.
"""

from shopsight_jobs import segments, runtime

if __name__ == "__main__":
    runtime.main("segments", segments.run)
