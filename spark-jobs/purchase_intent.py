"""ShopSight Spark job purchase-intent (EMR Serverless entry point): Session features before the first purchase; logistic regression; predictions and coefficients.

    spark-submit --py-files shopsight_jobs.zip purchase_intent.py \
      --run-id <id> --dataset rees46|retailrocket --input <raw prefix> \
      --curated <curated root> --exports <export root> --params '<PipelineParameters JSON>'

The work is in shopsight_jobs/purchase_intent.py; exit codes in shopsight_jobs/args.py.
"""

from shopsight_jobs import purchase_intent, runtime

if __name__ == "__main__":
    runtime.main("purchase-intent", purchase_intent.run)
