"""Offline without IMLBOOK_OFFLINE=1, a failed download leads with the clear message; the raw error comes last."""
import pytest
import requests

from imlbook import data


def test_a_failed_download_leads_with_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("IMLBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("IMLBOOK_DATA", raising=False)
    monkeypatch.delenv("IMLBOOK_OFFLINE", raising=False)
    raw = "HTTPSConnectionPool(host='huggingface.co', port=443): Max retries exceeded " + "x" * 400

    def no_network(*args, **kwargs):
        raise requests.ConnectionError(raw)

    monkeypatch.setattr(requests, "get", no_network)
    with pytest.raises(data.DataUnavailable) as info:
        data.load_adult()
    lines = str(info.value).splitlines()
    assert lines[0] == "data set 'adult' is not available: the download failed: no network connection?"
    assert lines[1].startswith("  fix: run `python workbook.py fetch adult` on a machine with network")
    assert lines[-1].startswith("  details: download of") and "ConnectionError" in lines[-1]
    assert all("HTTPSConnectionPool" not in line for line in lines[:-1])
    assert len(lines[-1]) < 700  # the raw error is cut, not 400 characters of it up front
