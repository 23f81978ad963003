"""Labels of the web view that the report (`monitor.report.i18n`) does not have. Stored text is never
translated, only labels."""

from __future__ import annotations

from monitor.report.i18n import LABELS

WEB_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "home": "citewatch",
        "latest_metrics": "Latest metrics",
        "metrics_title": "Metrics",
        "period": "Period",
        "since": "From",
        "until": "To",
        "show": "Show",
        "as_json": "as JSON",
        "archive": "Report archive",
        "no_archive": "No report archive is served (citewatch serve --archive DIR).",
        "no_reports": "No archived report yet.",
        "inactive": "no longer in config",
        "samples_of": "Stored samples",
        "no_samples": "No stored sample for this keyword.",
        "observed_at": "Time",
        "status": "Status",
        "error": "Reason",
        "answer": "Answer",
        "no_answer": "No answer text stored.",
        "position": "Position",
        "title": "Title",
        "url": "URL",
        "cited": "cited",
        "retrieved": "retrieved, not cited",
        "raw": "Raw payload",
        "no_raw": "no raw payload stored",
        "page": "Page",
        "previous_page": "Newer",
        "next_page": "Older",
        "sample": "sample",
        "all": "all",
    },
    "zh": {
        "home": "citewatch",
        "latest_metrics": "最新指标",
        "metrics_title": "指标",
        "period": "周期",
        "since": "开始",
        "until": "结束",
        "show": "显示",
        "as_json": "JSON 格式",
        "archive": "报告存档",
        "no_archive": "未提供报告存档（citewatch serve --archive DIR）。",
        "no_reports": "尚无存档报告。",
        "inactive": "已不在配置中",
        "samples_of": "已存储的样本",
        "no_samples": "该关键词没有已存储的样本。",
        "observed_at": "时间",
        "status": "状态",
        "error": "原因",
        "answer": "回答",
        "no_answer": "未存储回答文本。",
        "position": "位置",
        "title": "标题",
        "url": "网址",
        "cited": "已引用",
        "retrieved": "已检索，未引用",
        "raw": "原始数据",
        "no_raw": "未存储原始数据",
        "page": "页",
        "previous_page": "较新",
        "next_page": "较早",
        "sample": "样本",
        "all": "全部",
    },
}


def labels(language: str) -> dict[str, str]:
    """The report's labels with the web view's own; English for a language neither has."""
    language = language if language in WEB_LABELS and language in LABELS else "en"
    return {**LABELS[language], **WEB_LABELS[language]}
