// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {IERC5805} from "@openzeppelin/contracts/interfaces/IERC5805.sol";

contract MockERC20 is ERC20 {
    constructor() ERC20("Mock", "MOCK") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

contract MockERC721 is ERC721 {
    constructor() ERC721("Mock NFT", "MNFT") {}

    function mint(address to, uint256 tokenId) external {
        _mint(to, tokenId);
    }
}

/// @dev `balanceOf` reverts.
contract RevertingToken {
    function balanceOf(address) external pure returns (uint256) {
        revert("broken");
    }
}

/// @dev `balanceOf` answers with fewer than 32 bytes.
contract ShortReturnToken {
    fallback() external {
        assembly {
            mstore(0, 1)
            return(0, 16)
        }
    }
}

/// @dev An ERC20Votes token on OpenZeppelin's default block-number clock.
contract BlockNumberVotesToken is ERC20, ERC20Permit, ERC20Votes {
    constructor() ERC20("Block", "BLK") ERC20Permit("Block") {}

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }

    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }
}

/// @dev A smart-contract wallet (ERC-1271): its owner's ECDSA signature of a hash is the wallet's signature.
contract ERC1271Wallet is IERC1271 {
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function isValidSignature(bytes32 hash, bytes memory signature) external view returns (bytes4) {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(hash, signature);
        return
            err == ECDSA.RecoverError.NoError && signer == owner
                ? IERC1271.isValidSignature.selector
                : bytes4(0xffffffff);
    }

    function delegate(IVotes votes, address to) external {
        require(msg.sender == owner, "not the owner");
        votes.delegate(to);
    }
}

/// @dev An ERC-5805 votes source on a timestamp clock that gives every account type(uint208).max votes: more, in
/// total, than any ERC20Votes token can (its supply is capped at type(uint208).max). Only for showing that the
/// governor's uint208 For tally refuses to wrap.
contract InflatedVotesToken is IERC5805 {
    function clock() external view returns (uint48) {
        return uint48(block.timestamp);
    }

    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() external pure returns (string memory) {
        return "mode=timestamp";
    }

    function getVotes(address) external pure returns (uint256) {
        return type(uint208).max;
    }

    function getPastVotes(address, uint256) external pure returns (uint256) {
        return type(uint208).max;
    }

    function getPastTotalSupply(uint256) external pure returns (uint256) {
        return type(uint208).max;
    }

    function delegates(address account) external pure returns (address) {
        return account;
    }

    function delegate(address) external pure {}

    function delegateBySig(address, uint256, uint256, uint8, bytes32, bytes32) external pure {}
}
