# frozen_string_literal: true

require 'json'

module Storage
  VERSION = '2.1.0'
  DEFAULTS = { path: '/tmp' }.freeze

  class Error < StandardError; end

  class Record
    attr_accessor :id, :name
    attr_reader :created_at
    attr_writer :notes

    def initialize(id, name)
      @id = id
      @name = name
      @created_at = Time.now
    end

    def to_h
      { id: id, name: name }
    end

    alias to_hash to_h
    alias_method :as_json, :to_h

    def ==(other)
      other.is_a?(Record) && other.id == id
    end

    def name=(value)
      @name = value.to_s
    end

    def self.from_h(hash)
      new(hash[:id], hash[:name])
    end

    class << self
      def load(path)
        from_h(JSON.parse(File.read(path), symbolize_names: true))
      end

      def table_name
        'records'
      end
    end

    private

    def secret?
      false
    end
  end

  class Store
    include Enumerable

    attr_reader :records

    def initialize
      @records = []
    end

    def each(&block)
      records.each(&block)
    end

    def <<(record)
      records << record
      self
    end

    alias add <<
  end

  module Helpers
    module_function

    def slug(text)
      text.downcase.tr(' ', '-')
    end
  end

  def self.open(path = DEFAULTS[:path])
    Store.new.tap { |s| s << Record.new(1, path) }
  end
end

class Storage::Cache < Storage::Store
  def fetch(key)
    find { |r| r.id == key }
  end
end
