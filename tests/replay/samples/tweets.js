window.YTD.tweets.part0 = [
  {
    "tweet" : {
      "edit_info" : {"initial" : {"editTweetIds" : ["2195884410"], "editableUntil" : "2009-06-16T16:03:14.000Z", "editsRemaining" : "5", "isEditEligible" : false}},
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com\" rel=\"nofollow\">Twitter Web Client</a>",
      "entities" : {"hashtags" : [ ], "symbols" : [ ], "user_mentions" : [ ], "urls" : [ ]},
      "display_text_range" : ["0", "61"],
      "favorite_count" : "3",
      "id_str" : "2195884410",
      "truncated" : false,
      "retweet_count" : "7",
      "id" : "2195884410",
      "created_at" : "Tue Jun 16 15:03:14 +0000 2009",
      "favorited" : false,
      "full_text" : "میلیون‌ها نفر از میدان انقلاب تا آزادی، در سکوت",
      "lang" : "fa"
    }
  },
  {
    "tweet" : {
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com\" rel=\"nofollow\">Twitter Web Client</a>",
      "entities" : {"hashtags" : [{"text" : "iranelection", "indices" : ["40", "53"]}], "symbols" : [ ], "user_mentions" : [ ], "urls" : [ ]},
      "display_text_range" : ["0", "53"],
      "favorite_count" : "0",
      "in_reply_to_status_id_str" : "2170001234",
      "id_str" : "2171330987",
      "truncated" : false,
      "retweet_count" : "2",
      "id" : "2171330987",
      "in_reply_to_status_id" : "2170001234",
      "created_at" : "Mon Jun 15 09:12:55 +0000 2009",
      "favorited" : false,
      "full_text" : "Azadi square is full, people everywhere #iranelection",
      "lang" : "en",
      "in_reply_to_screen_name" : "tehran_witness"
    }
  }
]
