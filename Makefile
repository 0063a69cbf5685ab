# Thin aliases over Maven and scripts. See README.md.
MVN ?= mvn -B
.PHONY: test run demo bench bench-worker package fmt clean check-dashboards check-deploy

test:            ## the whole suite: unit (*Test) and integration (*IT) against real Kafka, Postgres and S3
	$(MVN) verify

package:         ## the product jar (target/ephemera.jar) behind bin/ephemera, and its class-data sharing archive
	$(MVN) -q -DskipTests package
	scripts/cds-archive.sh

run: package     ## Ephemera on its embedded default: real Kafka, real Postgres, local object store
	$(MVN) -q -DskipTests test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/dev-classpath.txt
	exec java -cp target/test-classes:target/classes:$$(cat target/dev-classpath.txt) dev.ephemera.dev.DevStack $(ARGS)

demo: package    ## the example scenario, step by step, against `make run` (or its own stack)
	$(MVN) -q -DskipTests test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/dev-classpath.txt
	java -cp target/test-classes:target/classes:$$(cat target/dev-classpath.txt) dev.ephemera.dev.Demo $(ARGS)

bench: package   ## archive benchmark vs tar | zstd (prints ratios)
	scripts/bench.sh $(ARGS)

bench-worker:    ## worker throughput vs a plain Kafka consumer, and staging latency (ARGS="--events 100000 --owners 1000 --rate 500")
	$(MVN) -q -DskipTests test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/dev-classpath.txt
	java -Xmx1g -cp target/test-classes:target/classes:$$(cat target/dev-classpath.txt) dev.ephemera.dev.bench.WorkerBenchmark $(ARGS)

check-dashboards: ## grafana/dashboards/*.json type-checked against @grafana/schema (npm, pinned in grafana/check)
	cd grafana/check && npm ci --no-audit --no-fund --silent && npm run --silent check

check-deploy:    ## deploy/: Kubernetes schemas and types, compose consistency, promtool on the Prometheus config and rules
	cd deploy/check && npm ci --no-audit --no-fund --silent && npm run --silent check
	promtool check config deploy/prometheus/prometheus.yml
	promtool check rules deploy/prometheus/alerts.yml

clean:
	$(MVN) -q clean
