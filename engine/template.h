// {{token}} expansion for TEMPLATE assets. A token is [A-Za-z_][A-Za-z0-9_]* with optional
// spaces inside the braces ("{{ cell_name }}"). An unknown token or an unclosed "{{" is an
// error naming the asset line, so a typo never renders as an empty string. There is no escape:
// a literal "{{" must come from a token (pass e.g. lbrace="{{" in the extra tokens).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/result.h"

namespace cells::engine {

using TokenMap = std::map<std::string, std::string>;

// The standard set: cell_name, cid, profile, plus EXTRA (which may not redefine those three).
Result<TokenMap> plan_tokens(const std::string& cell_name, uint64_t cid,
                             const std::string& profile, const TokenMap& extra = {});

// Expands TEXT; ASSET names it in errors ("<asset>:<line>: unknown template token 'x'").
Result<std::string> expand_template(const std::string& asset, std::string_view text,
                                    const TokenMap& tokens);

}  // namespace cells::engine
