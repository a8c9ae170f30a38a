"""Spark local mode for the bulk tests: one SparkSession for the whole test session.

`local[2]` in a small driver JVM bound to 127.0.0.1 (no UI, nothing listening beyond loopback),
Python workers on this interpreter, logs at ERROR, scratch and warehouse directories under the
session's temporary directory. The settings live in a SPARK_CONF_DIR (spark-defaults.conf and
log4j2.properties), so the job run as a subprocess gets the same ones.

Without Java the tests are skipped, except under CI (`CI` set), where a missing Java is a
failure: `.ci/run` installs it.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

HERE = Path(__file__).parent

# Warnings PySpark raises from its own code, outside our control, ignored in these tests only:
# - mapInArrow goes through pyspark's pandas_udf, which checks pandas' version and warns that
#   pandas 3 is "not yet fully supported", although an Arrow map never touches pandas.
SPARK_WARNINGS = ("ignore:PySpark does not yet fully support pandas >= 3.0.0:FutureWarning",)

LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
# Spark's own loggers configured at the root's level: then Spark, started from Python like a
# shell, keeps that level and does not print its "Setting default log level" banner.
logger.spark.name = org.apache.spark
logger.spark.level = error
"""


def java_executable() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            for spec in SPARK_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(spec))


@pytest.fixture(scope="session")
def spark_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment variables for a local-mode Spark driver, in process or in a subprocess."""
    if java_executable() is None:
        reason = "Spark local mode needs Java 17+ (`java` on PATH or JAVA_HOME) and none was found"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must have it (.ci/run installs it)")
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("spark")
    conf = root / "conf"
    conf.mkdir()
    (conf / "log4j2.properties").write_text(LOG4J2, encoding="utf-8")
    defaults = {
        "spark.master": "local[2]",
        "spark.driver.memory": "1g",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.warehouse.dir": str(root / "warehouse"),
        "spark.local.dir": str(root / "local"),
        # Small Arrow batches, so a partition reaches the rater as several batches.
        "spark.sql.execution.arrow.maxRecordsPerBatch": "64",
    }
    (conf / "spark-defaults.conf").write_text("".join(f"{k} {v}\n" for k, v in defaults.items()), encoding="utf-8")
    return {
        "SPARK_CONF_DIR": str(conf),
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


@pytest.fixture(scope="session")
def spark(spark_env: dict[str, str]) -> Iterator[SparkSession]:
    """The test session's SparkSession, stopped at the end of the session."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in spark_env.items():
            mp.setenv(name, value)
        session = SparkSession.builder.appName("telebill-tests").getOrCreate()
        try:
            yield session
        finally:
            session.stop()
