"""agentops 0.4.21's agentops.semconv.message (the same names and values)."""

from __future__ import annotations


class MessageAttributes:
    """Semantic conventions for message-related attributes in AI systems."""

    PROMPT_ROLE = "gen_ai.prompt.{i}.role"
    PROMPT_CONTENT = "gen_ai.prompt.{i}.content"
    PROMPT_TYPE = "gen_ai.prompt.{i}.type"
    PROMPT_SPEAKER = "gen_ai.prompt.{i}.speaker"
    TOOL_CALL_ID = "gen_ai.request.tools.{i}.id"
    TOOL_CALL_TYPE = "gen_ai.request.tools.{i}.type"
    TOOL_CALL_NAME = "gen_ai.request.tools.{i}.name"
    TOOL_CALL_DESCRIPTION = "gen_ai.request.tools.{i}.description"
    TOOL_CALL_ARGUMENTS = "gen_ai.request.tools.{i}.arguments"
    COMPLETION_ID = "gen_ai.completion.{i}.id"
    COMPLETION_TYPE = "gen_ai.completion.{i}.type"
    COMPLETION_ROLE = "gen_ai.completion.{i}.role"
    COMPLETION_CONTENT = "gen_ai.completion.{i}.content"
    COMPLETION_FINISH_REASON = "gen_ai.completion.{i}.finish_reason"
    COMPLETION_SPEAKER = "gen_ai.completion.{i}.speaker"
    COMPLETION_TOOL_CALL_ID = "gen_ai.completion.{i}.tool_calls.{j}.id"
    COMPLETION_TOOL_CALL_TYPE = "gen_ai.completion.{i}.tool_calls.{j}.type"
    COMPLETION_TOOL_CALL_STATUS = "gen_ai.completion.{i}.tool_calls.{j}.status"
    COMPLETION_TOOL_CALL_NAME = "gen_ai.completion.{i}.tool_calls.{j}.name"
    COMPLETION_TOOL_CALL_DESCRIPTION = "gen_ai.completion.{i}.tool_calls.{j}.description"
    COMPLETION_TOOL_CALL_ARGUMENTS = "gen_ai.completion.{i}.tool_calls.{j}.arguments"
    COMPLETION_ANNOTATION_START_INDEX = "gen_ai.completion.{i}.annotations.{j}.start_index"
    COMPLETION_ANNOTATION_END_INDEX = "gen_ai.completion.{i}.annotations.{j}.end_index"
    COMPLETION_ANNOTATION_TITLE = "gen_ai.completion.{i}.annotations.{j}.title"
    COMPLETION_ANNOTATION_TYPE = "gen_ai.completion.{i}.annotations.{j}.type"
    COMPLETION_ANNOTATION_URL = "gen_ai.completion.{i}.annotations.{j}.url"
