"""ShopSight Spark job association-rules (EMR Serverless entry point): FP-Growth over sub-category and product baskets; association_rules and bought_together.

    spark-submit --py-files shopsight_jobs.zip association_rules.py \
      --run-id <id> --dataset rees46|retailrocket --input <raw prefix> \
      --curated <curated root> --exports <export root> --params '<PipelineParameters JSON>'

The work is in shopsight_jobs/association_rules.py; exit codes in shopsight_jobs/args.py.
"""

from shopsight_jobs import association_rules, runtime

if __name__ == "__main__":
    runtime.main("association-rules", association_rules.run)
