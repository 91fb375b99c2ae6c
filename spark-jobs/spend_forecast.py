"""ShopSight Spark job spend-forecast (EMR Serverless entry point): each customer's expected spend in the horizon after the run (two-part GLM, time holdout against past spend rate and the overall mean); daily revenue with trend and weekday effects, backtested against seasonal naive.

    spark-submit --py-files shopsight_jobs.zip spend_forecast.py \
      --run-id <id> --dataset rees46|retailrocket --input <raw prefix> \
      --curated <curated root> --exports <export root> --params '<PipelineParameters JSON>'

The method is docs/spend-forecast.md; the work is in shopsight_jobs/spend_forecast.py; exit codes in shopsight_jobs/args.py.
"""

from shopsight_jobs import spend_forecast, runtime

if __name__ == "__main__":
    runtime.main("spend-forecast", spend_forecast.run)
