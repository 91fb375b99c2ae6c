"""ShopSight Spark job recommendations (EMR Serverless entry point): ALS (implicit feedback) recommendations and similar products, evaluated against popularity.

    spark-submit --py-files shopsight_jobs.zip recommendations.py \
      --run-id <id> --dataset rees46|retailrocket --input <raw prefix> \
      --curated <curated root> --exports <export root> --params '<PipelineParameters JSON>'

The work is in shopsight_jobs/recommendations.py; exit codes in shopsight_jobs/args.py.
"""

from shopsight_jobs import recommendations, runtime

if __name__ == "__main__":
    runtime.main("recommendations", recommendations.run)
